"""What every part of the translation shares: the connector config, the clock, the problems found.

A manifest string is either *static* (it reads only ``config`` and ``parameters`` and the CDK's
macros): it is rendered once, here, as the CDK renders it (``ast.literal_eval`` of the text); or
*dynamic* (it reads the response, the record, the parent's partition): it becomes a template of the
tap's own engine, with the component's ``$parameters`` written into it as literals and the CDK's
names mapped to the engine's (:meth:`Translation.engine_template`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing as t

from tap_restgeneric.airbyte.interpolated import Interpolation
from tap_restgeneric.errors import SourceConfigError, TemplateEvaluationError

if t.TYPE_CHECKING:
    import datetime

PARAMETERS_KEY = "$parameters"
_PARAMETER = re.compile(r"\bparameters(?:\.([A-Za-z_]\w*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")


class Untranslatable(SourceConfigError):
    """A manifest the engine cannot run as the CDK would: one line naming where."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__([f"manifest: {where}: {message}"])
        #: What is refused, without its place (the corpus report counts these).
        self.reason = message


def jinja_literal(value: t.Any) -> str:
    """A Python value as a Jinja literal (JSON, with Jinja's none/true/false)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(jinja_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {jinja_literal(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


@dataclasses.dataclass
class Translation:
    """The connector config (``manifest_config``) and the one clock of a translation."""

    config: t.Mapping[str, t.Any]
    now: datetime.datetime
    #: Only checking what the tap refuses (no connector config): a value the config would give is not a refusal.
    checking: bool = False
    interpolation: Interpolation = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.interpolation = Interpolation(lambda: self.now)

    def static(self, value: t.Any, where: str, parameters: t.Mapping[str, t.Any] | None) -> t.Any:
        """A static value as the CDK evaluates it (None when it renders empty)."""
        if not isinstance(value, str):
            return value
        if "{{" not in value and "{%" not in value:
            return value
        try:
            return self.interpolation.string(value, where, (), parameters).eval(self.config)
        except TemplateEvaluationError as exc:
            raise SourceConfigError([f"manifest: {exc.problems[0] if exc.problems else exc}"]) from None

    def static_text(self, value: t.Any, where: str, parameters: t.Mapping[str, t.Any] | None) -> str:
        """A static value that is text (a URL, a path, a header): rendered, never read as a literal."""
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return "" if value is None else str(value)
        template = self.interpolation.compile(value, where)
        context = self.interpolation.place((), parameters).context(self.config, {})
        try:
            return template.render(context)
        except TemplateEvaluationError as exc:
            raise SourceConfigError([f"manifest: {exc.problems[0] if exc.problems else exc}"]) from None

    @staticmethod
    def reads(value: t.Any, *names: str) -> bool:
        """Whether a manifest string reads one of ``names``."""
        return isinstance(value, str) and any(re.search(rf"\b{name}\b", value) for name in names)


def inline_parameters(text: str, parameters: t.Mapping[str, t.Any]) -> str:
    """``parameters.x`` / ``parameters['x']`` in a template, as the literal value."""

    def literal(match: re.Match[str]) -> str:
        return jinja_literal(parameters.get(match.group(1) or match.group(2)))

    return _PARAMETER.sub(literal, text)
