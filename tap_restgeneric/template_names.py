"""What a parsed Jinja template reads off a top-level name (``secrets.x``, ``resources.issues.number``).

Found from the template's syntax tree at load time, so a config's credentials and its
parent/child links are known before any request is sent.
"""

from __future__ import annotations

from jinja2 import nodes


def referenced_keys(ast: nodes.Template, name: str) -> set[str]:
    """Keys read off a top-level name: ``secrets.x`` and ``secrets["x"]`` ("*" for the whole
    mapping, or a key computed at run time)."""
    keys = {path[0] for path in _paths(ast, name) if path}
    if not keys and any(n.name == name for n in ast.find_all(nodes.Name)):
        keys.add("*")
    return keys


def name_paths(ast: nodes.Template, name: str) -> list[tuple[str, ...] | None]:
    """Every use of ``name``, as the chain of constant keys read off it
    (``resources.issues.user["id"]`` -> ``("issues", "user", "id")``); ``None`` for a use that is
    not such a chain (the bare name, or a key computed at run time)."""
    uses = sum(1 for n in ast.find_all(nodes.Name) if n.name == name)
    paths: list[tuple[str, ...] | None] = list(_paths(ast, name))
    return paths + [None] * (uses - len(paths))


def _paths(ast: nodes.Node, name: str) -> list[tuple[str, ...]]:
    """The longest constant key chains read off ``name`` (one per use that starts a chain)."""
    found: list[tuple[str, ...]] = []

    def walk(node: nodes.Node) -> None:
        chain = _chain(node, name)
        if chain:
            found.append(chain)
            return
        for child in node.iter_child_nodes():
            walk(child)

    walk(ast)
    return found


def _chain(node: nodes.Node, name: str) -> tuple[str, ...] | None:
    keys: list[str] = []
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, (str, int)):
            keys.append(str(node.arg.value))
        else:  # a computed key ends the constant part of the chain
            keys.clear()
        node = node.node
    if isinstance(node, nodes.Name) and node.name == name and keys:
        return tuple(reversed(keys))
    return None
