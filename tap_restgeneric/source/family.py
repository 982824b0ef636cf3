"""Parent/child links in the source config, checked whole before any request.

dlt writes a child resource two ways, and both become the same Jinja template:

- ``path: issues/{resources.issues.number}/comments`` (also in ``params``, ``json``, ``headers``);
- ``params: {number: {type: resolve, resource: issues, field: number}}`` with ``{number}`` in the path.

``{resources.issues.number}`` becomes ``{{ resources["issues"]["number"] }}``, and
``{incremental.start_value}`` becomes ``{{ incremental["start_value"] }}``; a string that already
holds ``{{`` is Jinja and is left as written. A child's parent and the fields it reads are then
found in its compiled templates (:class:`~tap_restgeneric.source.parent_link.ParentLink`).
"""

from __future__ import annotations

import graphlib
import re
import typing as t

from tap_restgeneric.errors import config_path
from tap_restgeneric.paging.request_builder import INCREMENTAL_NAMES
from tap_restgeneric.source.parent_link import ParentLink
from tap_restgeneric.templates import templates_in

if t.TYPE_CHECKING:
    from collections.abc import Callable

    Problem = Callable[[str, str], None]

#: The namespaces of dlt's single-brace placeholders.
NAMESPACES = ("resources", "incremental", "partition")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[^{}.\s]+)*)\}")
_RESOLVE_KEYS = {"type", "resource", "field"}
REQUEST_PARTS = ("path", "params", "json", "data", "headers")


def bind_resolve_params(endpoint: dict, where: str, problem: Problem) -> None:
    """dlt's older form: each ``resolve`` parameter is bound into the path as
    ``{resources.<resource>.<field>}`` and is not sent as a query parameter."""
    params = endpoint.get("params")
    if not isinstance(params, dict):
        return
    written = endpoint["path"]
    for name, value in list(params.items()):
        if not (isinstance(value, dict) and value.get("type") == "resolve"):
            continue
        at = config_path(f"{where}.endpoint.params", name)
        del params[name]
        unknown = sorted(set(value) - _RESOLVE_KEYS)
        if unknown:
            problem(at, f"unknown key(s) {', '.join(unknown)} (valid keys: field, resource, type)")
        missing = [key for key in ("resource", "field") if not isinstance(value.get(key), str) or not value.get(key)]
        if missing:
            problem(at, f"a resolve parameter needs {' and '.join(missing)} (the parent resource and its field)")
            continue
        if "{" + name + "}" not in endpoint["path"]:
            problem(
                at,
                f"resolve parameter {name!r} is not bound in path {written!r} (write {{{name}}} in the path; "
                f"in a query parameter use {{resources.{value['resource']}.{value['field']}}})",
            )
            continue
        endpoint["path"] = endpoint["path"].replace(
            "{" + name + "}", "{resources." + value["resource"] + "." + value["field"] + "}"
        )


def bind_path_params(endpoint: dict, where: str, problem: Problem) -> None:
    """dlt's path parameters: ``{name}`` in the path takes ``params.name`` (which is then not sent
    as a query parameter); a ``{name}`` no parameter binds is a config error, as in dlt. A path
    whose last segment is a placeholder reads one object (dlt: selector ``$``, one page) unless
    the endpoint says otherwise."""
    path = endpoint["path"]
    if not isinstance(path, str) or "{{" in path:
        return
    params: dict = endpoint["params"] if isinstance(endpoint.get("params"), dict) else {}
    single = bool(re.search(r"\{[^{}/]+\}/?$", path))
    for name in dict.fromkeys(re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", path)):
        if name in params and not isinstance(params[name], dict):
            path = path.replace("{" + name + "}", str(params.pop(name)))
        else:
            problem(
                f"{where}.endpoint.path",
                f"{endpoint['path']!r} has the path parameter {{{name}}}, which no endpoint.params entry binds "
                f"(add params: {{{name}: …}}, or read a parent's field as {{resources.<parent>.<field>}})",
            )
    endpoint["path"] = path
    if single:
        for key, value in (("data_selector", "$"), ("paginator", {"type": "single_page"})):
            if endpoint.get(key) is None:
                endpoint[key] = value


def dlt_placeholders(value: t.Any, where: str, problem: Problem) -> t.Any:
    """dlt's ``{resources.…}`` and ``{incremental.…}`` placeholders -> Jinja; any other dotted
    placeholder is a config error (a bare ``{name}`` is left as written)."""
    if isinstance(value, dict):
        return {k: dlt_placeholders(v, config_path(where, k), problem) for k, v in value.items()}
    if isinstance(value, list):
        return [dlt_placeholders(v, f"{where}[{i}]", problem) for i, v in enumerate(value)]
    if not isinstance(value, str) or "{{" in value or "{" not in value:
        return value

    def jinja(match: re.Match[str]) -> str:
        namespace, rest = match.group(1), match.group(2)
        keys = rest.split(".")[1:]
        if not keys:
            return match.group(0)  # {name}: a path parameter, not a placeholder
        if namespace not in NAMESPACES:
            problem(
                where,
                f"placeholder {match.group(0)} is not a valid name (valid: {{resources.<parent>.<field>}}, "
                "{incremental.start_value}, {partition.<name>}); a literal brace is written {{ '{' }}",
            )
            return match.group(0)
        if namespace == "resources" and len(keys) < 2:
            problem(where, f"placeholder {match.group(0)}: expected {{resources.<parent>.<field>}}")
            return match.group(0)
        if namespace == "incremental" and (len(keys) != 1 or keys[0] not in INCREMENTAL_NAMES):
            valid = ", ".join(f"{{incremental.{name}}}" for name in INCREMENTAL_NAMES)
            problem(where, f"placeholder {match.group(0)} is not one of {valid}")
            return match.group(0)
        return "{{ " + namespace + "".join(f"[{key!r}]" for key in keys) + " }}"

    return _PLACEHOLDER.sub(jinja, value)


def parent_link(endpoint: dict, include: t.Any, where: str, problem: Problem) -> ParentLink | None:
    """The parent a resource's compiled request templates read, or None for a top-level resource."""
    chains: dict[tuple[str, ...], str] = {}
    for part in REQUEST_PARTS:
        for template in templates_in(endpoint.get(part)):
            for chain in template.resource_paths:
                if chain is None or len(chain) < 2:
                    problem(template.where, "`resources` is read as resources.<parent>.<field> (one field of the parent record)")
                    continue
                chains.setdefault(chain, template.where)
    parents = sorted({chain[0] for chain in chains})
    if len(parents) > 1:
        problem(f"{where}.endpoint", f"a resource has one parent, this one reads {', '.join(parents)}")
        return None
    if not parents:
        if include:
            problem(f"{where}.include_from_parent", "the resource reads no parent ({resources.<parent>.<field>} in its request)")
        return None
    return ParentLink(parent=parents[0], fields=tuple(sorted(chain[1:] for chain in chains)), include=tuple(include or ()))


def check_family(links: dict[str, tuple[ParentLink, str]], names: t.AbstractSet[str], problem: Problem) -> list[str]:
    """Every parent exists and no resource is its own ancestor; returns the resources' names,
    parents before their children (dlt's order does not matter: a parent may come after a child)."""
    graph: dict[str, set[str]] = {name: set() for name in names}
    for child, (link, where) in links.items():
        if link.parent not in names:
            problem(
                f"{where}.endpoint",
                f"placeholder {link.placeholder(link.fields[0])} names resource {link.parent!r}, which is not in resources "
                f"(resources: {', '.join(sorted(names))})",
            )
        else:
            graph[child].add(link.parent)
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        nodes = exc.args[1][:-1]
        start = nodes.index(min(nodes))  # named from its first resource in name order, whatever the set order
        cycle = " -> ".join([*nodes[start:], *nodes[:start], nodes[start]])
        problem("resources", f"parent/child resources form a cycle: {cycle}")
        return sorted(names)
