"""``processing_steps`` in the source config: each step checked and compiled before any request
(see :mod:`tap_restgeneric.http.processing` for what they do)."""

from __future__ import annotations

import typing as t

from tap_restgeneric.errors import config_path
from tap_restgeneric.http.processing import STEP_KINDS, STEP_NAMES
from tap_restgeneric.templates import Template, is_template


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
            if kind == "filter":
                if not is_template(value):
                    report(f"{at}.filter: must be a template such as \"{{{{ record.state == 'open' }}}}\"")
                    continue
                compiled.append((kind, Template(value, f"{at}.filter", STEP_NAMES)))
            elif kind == "map":
                compiled.append(
                    (
                        kind,
                        {
                            field: Template(v, config_path(f"{at}.map", field), STEP_NAMES) if is_template(v) else v
                            for field, v in value.items()
                        },
                    )
                )
            else:
                compiled.append((kind, frozenset(value)))
        except ValueError as exc:
            report(str(exc))
    return compiled
