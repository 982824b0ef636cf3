"""What every part of the translation shares: the connector config, the clock, the problems found.

A manifest string is either *static* (it reads only ``config`` and ``parameters`` and the CDK's
macros): it is rendered once, here, as the CDK renders it (``ast.literal_eval`` of the text); or
*dynamic* (it reads the response, the record, the parent's partition): it becomes an engine template
that the CDK's rules evaluate (:mod:`.evaluators`).
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from tap_restgeneric.airbyte.interpolated import Interpolation
from tap_restgeneric.errors import SourceConfigError, TemplateEvaluationError

if t.TYPE_CHECKING:
    import datetime

PARAMETERS_KEY = "$parameters"


class Untranslatable(SourceConfigError):
    """A manifest the engine cannot run as the CDK would: one line naming where."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__([f"manifest: {where}: {message}"])
        #: What is refused, without its place (the corpus report counts these).
        self.reason = message


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
