"""Declarative processing steps: dlt's ``processing_steps``, written as Jinja instead of Python.

Each step is one of::

    processing_steps:
      - filter: "{{ record.state == 'open' }}"          # keep the records for which it is true
      - map: {title: "{{ record.title | upper }}",       # set or overwrite fields
              is_bug: "{{ 'bug' in record.labels }}"}
      - exclude: [body, internal_notes]                 # drop fields

applied in order to each record after it is selected from the page (and, for a child, after
the parent's fields are copied in), before it is written; a parent's filter also decides which
records have children read, as in dlt. Templates are compiled once when the config is loaded
and run in the tap's bounded Jinja sandbox; they see ``record`` and ``config`` (not ``secrets``:
a step that wrote a secret into a record would send it to the target).
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.templates import REMOVED, UNCHANGED, render_tree


class Steps:
    """The compiled steps of one resource (``kind``, value) and the settings they see as ``config``."""

    def __init__(self, steps: t.Sequence[tuple[str, t.Any]], config: t.Mapping[str, t.Any]) -> None:
        self.steps = list(steps)
        self.config = config

    def __bool__(self) -> bool:
        return bool(self.steps)

    def apply(self, record: dict, slice_context: t.Mapping[str, t.Any] | None = None) -> dict | None:
        """The record after every step, or None when a filter drops it; ``slice_context``: the ``partition``
        and window (``incremental``) the record was read in, for the templates of another front-end."""
        context = {"record": record, "config": self.config, **(slice_context or {})}  # its record kept current
        for kind, value in self.steps:
            if kind == "filter":
                if not value(context):
                    return None
            elif kind == "map":
                record = context["record"] = _changed(record, render_tree(value, context))
            else:
                record = context["record"] = {k: v for k, v in record.items() if k not in value}
        return record


def _changed(record: dict, changes: dict) -> dict:
    """The record with a map step's fields set (a foreign template's UNCHANGED leaves one, REMOVED drops it)."""
    changed = {**record, **{k: v for k, v in changes.items() if v is not UNCHANGED and v is not REMOVED}}
    for key in [k for k, v in changes.items() if v is REMOVED]:
        changed.pop(key, None)
    return changed
