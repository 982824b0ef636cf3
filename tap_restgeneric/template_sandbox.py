"""The bounded Jinja sandbox config templates run in (see ``templates``).

Jinja's sandbox stops escapes (``__class__``, ``mro``...) but not work: ``'x' * 10**9``
builds gigabytes and ``10**(10**8)`` hangs, even at compile time (constant folding).
``BoundedEnvironment`` intercepts every operator, call, filter and test a template
can run: it refuses, before they run, operations whose result would exceed
``MAX_STRING_LENGTH`` items or ``MAX_INT_BITS`` bits; sizes every value before it
becomes text (each ``{{ }}`` output, ``~``, text filters, format fields), since a list
of shared lists is small in memory and huge as text; counts what each evaluation
builds against ``MAX_WORK``; and checks a ``TIME_BUDGET`` at each step (the overseer,
``template_overseer``, bounds the time spent inside a filter's own loop).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import threading
import time
import typing as t

from jinja2 import Environment
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat, EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from typing_extensions import override

#: The longest string, list or mapping a template may build (items or characters).
MAX_STRING_LENGTH = 1_000_000
#: The largest integer a template may compute, in bits (2**4096 is far beyond any id or timestamp).
MAX_INT_BITS = 4096
#: Characters and items built in all the steps of one evaluation.
MAX_WORK = 16_000_000
#: The largest value an evaluation may return, in characters once written as text or JSON (a
#: list of shared lists is small in memory and huge as text).
MAX_OUTPUT = 16_000_000
#: Seconds one evaluation may take.
TIME_BUDGET = 1.0

#: Filters and str methods whose integer arguments are sizes of what they build.
SIZED_CALLS = frozenset({"center", "ljust", "rjust", "zfill", "indent", "wordwrap", "truncate", "batch", "slice", "expandtabs"})
_FORMAT_WIDTH = re.compile(r"\d{7,}")  # a width or precision of a million or more in a format spec
_NUMBER = re.compile(r"\d+")
#: Filters that turn their input into text: the input's size as text is checked before they run.
TEXT_FILTERS = frozenset(
    {
        "string", "tojson", "pprint", "format", "join", "urlencode", "xmlattr", "escape", "e", "forceescape", "safe",
        "center", "indent", "wordwrap", "truncate", "trim", "upper", "lower", "title", "capitalize", "replace",
        "striptags", "urlize", "wordcount", "filesizeformat", "int", "float",
    }
)  # fmt: skip


class TemplateLimitError(Exception):
    """A template tried to do more work than the limits allow."""


class Budget:
    """The work and time left to the evaluation running on this thread."""

    __slots__ = ("deadline", "work")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + TIME_BUDGET
        self.work = 0

    def count(self, steps: int) -> None:
        """Work done without building anything (walking a value to size it)."""
        self.work += steps
        if self.work > MAX_WORK:
            raise TemplateLimitError(f"built more than {MAX_WORK:,} characters or items in all")
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"ran longer than {TIME_BUDGET:g} s")

    def step(self, built: t.Any = None) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"ran longer than {TIME_BUDGET:g} s")
        size = _size(built)
        if size > MAX_STRING_LENGTH:
            raise TemplateLimitError(f"built a value of {size:,} items (limit {MAX_STRING_LENGTH:,})")
        if size:
            self.work += size
            if self.work > MAX_WORK:
                raise TemplateLimitError(f"built more than {MAX_WORK:,} characters or items in all")


ACTIVE = threading.local()


def _budget() -> Budget:
    budget = getattr(ACTIVE, "budget", None)
    return budget if budget is not None else Budget()  # compile-time constant folding


def _size(value: t.Any) -> int:
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(f"computed an integer of {value.bit_length():,} bits (limit {MAX_INT_BITS:,})")
    return 0


CONTAINERS = (list, tuple, dict, set, frozenset)


def text_size(value: t.Any, limit: int = MAX_STRING_LENGTH) -> int:
    """About how many characters ``value`` takes as text (``str()`` or JSON), counted only until
    past ``limit``: each reference to a shared value counts, as it prints. Walked without
    recursion, counted as work, and under the evaluation's deadline."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, CONTAINERS):
        return _scalar_size(value)
    total = steps = 0
    stack: list[t.Iterator[t.Any]] = [iter((value,))]
    while stack and total <= limit:
        for item in stack[-1]:
            steps += 1
            if isinstance(item, str):
                total += len(item) + 4  # quotes and a separator
            elif isinstance(item, dict):
                total += 2 + 2 * len(item)
                stack.append(itertools.chain.from_iterable(item.items()))
            elif isinstance(item, CONTAINERS):
                total += 2 + 2 * len(item)
                stack.append(iter(item))
            else:
                total += _scalar_size(item)
            if total > limit or isinstance(item, CONTAINERS):
                break
        else:
            stack.pop()
    _budget().count(steps)
    return total


def _scalar_size(value: t.Any) -> int:
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 10 // 33 + 2
    return 24 if isinstance(value, float) else 32


def _check_text(value: t.Any, what: str = "a value") -> None:
    """Refuse to turn ``value`` into text when the text would pass MAX_STRING_LENGTH."""
    size = text_size(value)
    if size > MAX_STRING_LENGTH:
        raise TemplateLimitError(f"{what} would be more than {MAX_STRING_LENGTH:,} characters as text")


def _finalized(value: t.Any) -> t.Any:
    """Each ``{{ … }}`` of a template rendered to text (Jinja's ``finalize`` hook), checked first."""
    _check_text(value, "an output")
    return value


def _bounded_concat(pieces: t.Iterable[str]) -> str:
    """A template's rendered pieces, joined (Jinja's ``Environment.concat``), within MAX_STRING_LENGTH."""
    joined = []
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > MAX_STRING_LENGTH:
            raise TemplateLimitError(f"rendered more than {MAX_STRING_LENGTH:,} characters")
        joined.append(piece)
    return "".join(joined)


def _weight(seq: t.Any) -> int:
    """Characters a sequence stands for once joined (a list of long strings weighs their lengths)."""
    if isinstance(seq, (str, bytes)):
        return len(seq)
    if isinstance(seq, (list, tuple)):
        return sum(len(item) if isinstance(item, (str, bytes)) else 1 for item in seq)
    return 0


def _check_int(value: t.Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_STRING_LENGTH:
        raise TemplateLimitError(f"{what} {value:,} is above the limit {MAX_STRING_LENGTH:,}")


def _check_binop(operator: str, left: t.Any, right: t.Any) -> None:
    """Refuse an operation whose result would be too large, before it runs."""
    if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        if right * math.log2(abs(left)) > MAX_INT_BITS:
            raise TemplateLimitError(f"{left} ** {right} would exceed {MAX_INT_BITS:,} bits")
    elif operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(count, int) and not isinstance(count, bool) and _weight(seq) * count > MAX_STRING_LENGTH:
                raise TemplateLimitError(f"repeating a value {count:,} times would exceed {MAX_STRING_LENGTH:,} items")
            if isinstance(count, int) and isinstance(seq, (list, tuple)) and count > 1:
                size = text_size(seq, MAX_OUTPUT // count + 1)
                if size * count > MAX_OUTPUT:
                    raise TemplateLimitError(
                        f"repeating a list {count:,} times would make more than {MAX_OUTPUT:,} characters as text"
                    )
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateLimitError(f"the product would exceed {MAX_INT_BITS:,} bits")
    elif operator == "+" and _weight(left) + _weight(right) > MAX_STRING_LENGTH:
        raise TemplateLimitError(f"the concatenation would exceed {MAX_STRING_LENGTH:,} items")
    elif operator == "%" and isinstance(left, str):
        _check_format(left, right if isinstance(right, tuple) else (right,))


def _check_format(spec: str, args: t.Iterable[t.Any]) -> None:
    """A format string (``%`` or ``str.format``) and its arguments: no huge width, and a result,
    over-estimated, within MAX_STRING_LENGTH: each field as wide as the widest argument as text,
    plus every number in the spec (widths, precisions), plus integer arguments (``*`` widths)."""
    if _FORMAT_WIDTH.search(spec):
        raise TemplateLimitError("a width or precision in a format string is above the limit")
    values = [v for arg in args for v in (arg.values() if isinstance(arg, dict) else (arg,))]
    for value in values:
        _check_int(value, "a format argument")
    fields = spec.count("%") + spec.count("{")
    widths = sum(map(int, _NUMBER.findall(spec)))
    numbers = sum(abs(v) for v in values if isinstance(v, int) and not isinstance(v, bool))
    widest = max((text_size(v) for v in values), default=0)
    if len(spec) + widths + numbers + fields * widest > MAX_STRING_LENGTH:
        raise TemplateLimitError(f"formatting would build more than {MAX_STRING_LENGTH:,} characters")


def _check_call(name: str, target: t.Any, args: tuple, kwargs: dict) -> None:
    """Arguments that ask for a huge result: widths, counts, replacement sizes. Only the calls
    whose integer arguments are sizes are checked so: ``default(1700000000)`` is a timestamp."""
    if name in SIZED_CALLS:
        for value in (*args, *kwargs.values()):
            _check_int(value, f"an argument of {name}()")
    if name in ("replace", "do_replace") and isinstance(target, str) and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        growth = (len(target) // max(len(old), 1) + 1) * max(len(new) - len(old), 0)
        if len(target) + growth > MAX_STRING_LENGTH:
            raise TemplateLimitError(f"{name}() could build more than {MAX_STRING_LENGTH:,} characters")
    elif name in ("join", "do_join"):
        parts = target if isinstance(target, (list, tuple)) else args[0] if args and isinstance(args[0], (list, tuple)) else ()
        separator = target if isinstance(target, str) else args[0] if args and isinstance(args[0], str) else ""
        if text_size(list(parts)) + len(separator) * len(parts) > MAX_STRING_LENGTH:
            raise TemplateLimitError(f"{name}() would build more than {MAX_STRING_LENGTH:,} characters")
    elif name == "indent" and isinstance(target, str):
        width = (args[0] if args else kwargs.get("width", 4)) or 0
        lines = target.count("\n") + 1
        if len(target) + lines * (len(width) if isinstance(width, str) else int(width)) > MAX_STRING_LENGTH:
            raise TemplateLimitError(f"indent() would build more than {MAX_STRING_LENGTH:,} characters")
    elif name == "wordwrap" and isinstance(target, str):
        width = (args[0] if args else kwargs.get("width", 79)) or 1
        wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring") or "\n"
        if isinstance(width, int) and len(target) + (len(target) // max(width, 1) + 1) * len(str(wrap)) > MAX_STRING_LENGTH:
            raise TemplateLimitError(f"wordwrap() would build more than {MAX_STRING_LENGTH:,} characters")
    elif name in ("format", "format_map", "do_format") and isinstance(target, str):
        _check_format(target, args)
    elif name == "expandtabs" and isinstance(target, str):
        width = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(width, int) and target.count("\t") * width > MAX_STRING_LENGTH:
            raise TemplateLimitError(f"expandtabs() would build more than {MAX_STRING_LENGTH:,} characters")


def _guarded(name: str, func: t.Any) -> t.Callable[..., t.Any]:
    """A filter or test that checks its arguments first and counts what it builds."""

    @functools.wraps(func)  # keeps Jinja's pass_context/pass_environment marks
    def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
        budget = _budget()
        budget.step()
        values = [a for a in args if not _is_jinja_internal(a)]
        target, rest = (values[0], tuple(values[1:])) if values else (None, ())
        if name in TEXT_FILTERS:
            for value in values:
                _check_text(value, f"the input of {name}()")
        _check_call(name, target, rest, kwargs)
        result = func(*args, **kwargs)
        budget.step(result)
        return result

    return call


def bounded_callable(name: str, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """``func`` with the argument checks and work count of the built-in filters (a front-end's own filters)."""
    return _guarded(name, func)


def charge(built: t.Any = None) -> None:
    """One step of the running evaluation, and the size of what it built, counted against its budget."""
    _budget().step(built)


def _is_jinja_internal(value: t.Any) -> bool:
    """What Jinja passes to filters marked pass_context / pass_eval_context / pass_environment."""
    return isinstance(value, (Context, EvalContext, Environment))


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``a ~ b`` (which it joins with ``str()`` inline, out of the
    sandbox's sight) sent through ``BoundedEnvironment.joined``."""

    @override
    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.joined((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with every operator, call, filter and test bounded, every
    conversion to text sized first, and no constant folding (it would run the operations at
    compile time, outside an evaluation's budget)."""

    intercepted_binops = frozenset({"*", "**", "+", "-", "/", "//", "%"})
    intercepted_unops = frozenset({"-", "+"})
    code_generator_class = BoundedCodeGenerator
    concat = staticmethod(_bounded_concat)

    def __init__(self, **options: t.Any) -> None:
        super().__init__(**options, finalize=_finalized, optimized=False)
        # Helpers that only exist to produce text (lorem ipsum) or state are not needed in a config.
        for name in ("lipsum", "cycler", "joiner"):
            self.globals.pop(name, None)
        self.filters = {name: _guarded(name, func) for name, func in self.filters.items()}
        self.tests = {name: _guarded(name, func) for name, func in self.tests.items()}

    @override
    def call_binop(self, context: t.Any, operator: str, left: t.Any, right: t.Any) -> t.Any:
        budget = _budget()
        budget.step()
        _check_binop(operator, left, right)
        result = super().call_binop(context, operator, left, right)
        budget.step(result)
        return result

    @override
    def call(self, context: t.Any, obj: t.Any, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        budget = _budget()
        budget.step()
        _check_call(getattr(obj, "__name__", ""), getattr(obj, "__self__", None), args, kwargs)
        result = super().call(context, obj, *args, **kwargs)
        budget.step(result)
        return result

    @override
    def wrap_str_format(self, value: t.Any) -> t.Callable[..., str] | None:
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None
        spec = value.__self__

        def checked(*args: t.Any, **kwargs: t.Any) -> str:
            mapping = args[0] if args and isinstance(args[0], dict) else {}
            _check_format(spec, (*args, *kwargs.values(), *mapping.values()))
            return sandboxed(*args, **kwargs)

        checked.__name__ = value.__name__
        return checked

    def joined(self, values: tuple[t.Any, ...]) -> str:
        """``a ~ b ~ …``: the values as text, joined, within MAX_STRING_LENGTH."""
        budget = _budget()
        budget.step()
        if sum(text_size(value) for value in values) > MAX_STRING_LENGTH:
            raise TemplateLimitError(f"the concatenation would exceed {MAX_STRING_LENGTH:,} characters")
        result = "".join(map(str, values))
        budget.step(result)
        return result

    @override
    def getattr(self, obj: t.Any, attribute: str) -> t.Any:
        _budget().step()
        return super().getattr(obj, attribute)

    @override
    def getitem(self, obj: t.Any, argument: t.Any) -> t.Any:
        _budget().step()
        return super().getitem(obj, argument)
