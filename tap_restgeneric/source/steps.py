"""``processing_steps`` in the source config: each step checked and compiled before any request
(see :mod:`tap_restgeneric.streams.processing` for what they do)."""

from __future__ import annotations

import typing as t

from tap_restgeneric.templates import Template, compile_tree, is_template

#: Names a processing step's templates may use.
STEP_NAMES = frozenset({"record", "config"})
STEP_KINDS = ("filter", "map", "exclude")


def compile_steps(steps: t.Any, where: str, report: t.Callable[[str], None]) -> list[tuple[str, t.Any]]:
    """The steps as (kind, compiled value); each problem reported as one line with its path."""
    compiled: list[tuple[str, t.Any]] = []
    for i, step in enumerate(steps or []):
        at = f"{where}[{i}]"
        kinds = [kind for kind in STEP_KINDS if kind in step]
        if len(kinds) != 1:
            report(
                f"{at}: a step has exactly one of {', '.join(STEP_KINDS)} (dlt's Python callables cannot be written in a config)"
            )
            continue
        kind = kinds[0]
        value = step[kind]
        try:
            if kind == "filter" and isinstance(value, Template):  # compiled by another front-end
                compiled.append((kind, value))
            elif kind == "filter":
                if not is_template(value):
                    report(f"{at}.filter: must be a template such as \"{{{{ record.state == 'open' }}}}\"")
                    continue
                compiled.append((kind, Template(value, f"{at}.filter", STEP_NAMES)))
            elif kind == "map":  # templates at any depth of a field's value, as in a request's params
                compiled.append((kind, compile_tree(value, f"{at}.map", STEP_NAMES)))
            else:
                compiled.append((kind, frozenset(value)))
        except ValueError as exc:
            report(str(exc))
    return compiled
