"""Jinja templates in config strings, evaluated in Jinja's immutable sandbox, with bounded work.

A string containing ``{{ ... }}`` is a template. A string that is exactly one
expression (``'{{ not response.get("next") }}'``) evaluates to the native value
(bool, dict, str...), so stop conditions and cursors keep their types; any
other template renders to a string. Undeclared names are found at load time,
before any request is sent.

Context names, by where the template appears:

- everywhere: ``secrets`` (the ``secrets`` setting), ``config`` (the other settings)
- request parts (``params``, ``headers``, ``json``, ``path``): also ``incremental``
  (``incremental.start_value``, ``incremental.end_value``)
- paginator templates: also ``response`` (the parsed JSON body), ``headers``
  (response headers), ``last_record`` (last record of the page)

Jinja's sandbox stops escapes (``__class__``, ``mro``...) but not work: ``'x' * 10**9``
builds gigabytes and ``10**(10**8)`` hangs, even at compile time (constant folding).
``BoundedEnvironment`` intercepts every operator, call, filter and test a template
can run: it refuses, before they run, operations whose result would exceed
``MAX_STRING_LENGTH`` items or ``MAX_INT_BITS`` bits, counts what each evaluation
builds against ``MAX_WORK``, and checks a ``TIME_BUDGET`` at each step. Loops and
macros (``{% for %}``, ``{% macro %}``) are refused at load time: without them, a
template's work is its length times the bounded cost of each step.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import math
import re
import threading
import time
import typing as t

from jinja2 import Environment, StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from typing_extensions import override

from tap_restgeneric.errors import TemplateEvaluationError, config_path
from tap_restgeneric.template_names import name_paths, referenced_keys

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
#: Statements a config template may use; loops and macros are the only ways to repeat work.
REFUSED_STATEMENTS = {
    nodes.For: "{% for %} loops",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %} blocks",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
}
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

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.DOTALL)
#: Brackets a template may nest (beyond the ``{{ }}`` around it): Jinja's parser recurses a dozen
#: frames per level, and ran out of recursion at about 80.
MAX_NESTING = 32
_BRACKETS = re.compile(r"[()\[\]{}]")
_DEPTH_CHANGE = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


#: Depth of a template's syntax tree (filters, attributes and operators each add a level).
MAX_TREE_DEPTH = 80


def _tree_depth(ast: nodes.Node) -> int:
    """How deep a parsed template's syntax tree goes, walked without recursion."""
    deepest = 0
    stack = [(ast, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_TREE_DEPTH:
            stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


def _bracket_depth(source: str) -> int:
    """The deepest nesting of brackets in a template's text (string literals counted too: an
    over-estimate only for templates with many brackets inside their strings)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(source):
        depth = max(depth + _DEPTH_CHANGE[bracket], 0)
        deepest = max(deepest, depth)
    return deepest - 2 if "{{" in source or "{%" in source else deepest  # the {{ }} or {% %} delimiters


STATIC_NAMES = frozenset({"secrets", "config"})
REQUEST_NAMES = STATIC_NAMES | {"incremental", "resources"}
PAGINATOR_NAMES = STATIC_NAMES | {"response", "headers", "last_record"}


class TemplateLimitError(Exception):
    """A template tried to do more work than the limits allow."""


class _Budget:
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


_ACTIVE = threading.local()


def _budget() -> _Budget:
    budget = getattr(_ACTIVE, "budget", None)
    return budget if budget is not None else _Budget()  # compile-time constant folding


def _size(value: t.Any) -> int:
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(f"computed an integer of {value.bit_length():,} bits (limit {MAX_INT_BITS:,})")
    return 0


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _text_size(value: t.Any, limit: int = MAX_STRING_LENGTH) -> int:
    """About how many characters ``value`` takes as text (``str()`` or JSON), counted only until
    past ``limit``: each reference to a shared value counts, as it prints. Walked without
    recursion, counted as work, and under the evaluation's deadline."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, _CONTAINERS):
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
            elif isinstance(item, _CONTAINERS):
                total += 2 + 2 * len(item)
                stack.append(iter(item))
            else:
                total += _scalar_size(item)
            if total > limit or isinstance(item, _CONTAINERS):
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
    size = _text_size(value)
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


class TemplateTimeout(BaseException):
    """Raised into a thread whose evaluation passed TIME_BUDGET while inside a filter's own loop
    (a BaseException: no ``except Exception`` in a library swallows it)."""


class _Evaluation:
    __slots__ = ("deadline", "interrupted", "thread")

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.deadline = time.monotonic() + TIME_BUDGET
        self.interrupted = False


def _raise_in(thread: int, exception: type[BaseException] | None) -> None:
    """CPython's PyThreadState_SetAsyncExc: ``exception`` is raised in ``thread`` at its next
    bytecode (None withdraws one not raised yet)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(exception) if exception else None)


class _Overseer:
    """Interrupts evaluations that run past their deadline inside code the sandbox's hooks never
    see (a filter's own Python loop: ``wordwrap`` of a long word took 55 s). One daemon thread
    polls the evaluations running, while there are some; starting and finishing one is a dict
    update under a lock."""

    POLL = 0.05
    #: The thread rests after this long without evaluations.
    IDLE = 2.0

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running: dict[int, _Evaluation] = {}
        self._resting = True
        self._thread: threading.Thread | None = None

    def start(self) -> _Evaluation:
        evaluation = _Evaluation()
        with self._cond:
            self._running[evaluation.thread] = evaluation
            if self._resting:
                self._resting = False
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="tap-restgeneric-templates", daemon=True)
                    self._thread.start()
                else:
                    self._cond.notify()
        return evaluation

    def finish(self, evaluation: _Evaluation) -> None:
        with self._cond:
            if self._running.get(evaluation.thread) is evaluation:
                del self._running[evaluation.thread]
            if evaluation.interrupted:
                _raise_in(evaluation.thread, None)  # one not raised yet is withdrawn

    def _run(self) -> None:
        last_seen = time.monotonic()
        while True:
            with self._cond:
                now = time.monotonic()
                if self._running:
                    last_seen = now
                elif now - last_seen > self.IDLE:
                    self._resting = True
                    while self._resting:
                        self._cond.wait()
                    last_seen = time.monotonic()
                for evaluation in self._running.values():
                    if not evaluation.interrupted and now > evaluation.deadline:
                        evaluation.interrupted = True
                        _raise_in(evaluation.thread, TemplateTimeout)
            time.sleep(self.POLL)


OVERSEER = _Overseer()


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
                size = _text_size(seq, MAX_OUTPUT // count + 1)
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
    widest = max((_text_size(v) for v in values), default=0)
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
        if _text_size(list(parts)) + len(separator) * len(parts) > MAX_STRING_LENGTH:
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


def _is_jinja_internal(value: t.Any) -> bool:
    """What Jinja passes to filters marked pass_context / pass_eval_context / pass_environment."""
    return isinstance(value, (Context, EvalContext, Environment))


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``a ~ b`` (which it joins with ``str()`` inline, out of the
    sandbox's sight) sent through ``BoundedEnvironment.joined``."""

    @override
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
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
        if sum(_text_size(value) for value in values) > MAX_STRING_LENGTH:
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


_ENV = BoundedEnvironment(undefined=StrictUndefined, autoescape=False)


def is_template(value: t.Any) -> bool:
    return isinstance(value, str) and "{{" in value


class Template:
    """A compiled config template; call it with a context dict.

    ``where`` is its config path, named by every error it raises."""

    def __init__(self, source: str, where: str, allowed: t.AbstractSet[str]) -> None:
        self.source = source
        self.where = where
        too_deep = (
            f"{where}: template nested too deeply (more than {MAX_NESTING} levels of brackets, or a syntax tree "
            f"more than {MAX_TREE_DEPTH} deep: a chain of filters, attributes or operators)"
        )
        if _bracket_depth(source) > MAX_NESTING:
            raise ValueError(too_deep)
        try:
            ast = _ENV.parse(source)
        except TemplateSyntaxError as exc:
            raise ValueError(f"{where}: template syntax error: {exc.message}") from None
        except RecursionError:  # Jinja's parser recurses per level: a chain of unary operators
            raise ValueError(too_deep) from None
        if _tree_depth(ast) > MAX_TREE_DEPTH:  # its analysis and code generator recurse per node (filter chains)
            raise ValueError(too_deep)
        for node_type, label in REFUSED_STATEMENTS.items():
            if next(ast.find_all(node_type), None) is not None:
                raise ValueError(f"{where}: {label} are not allowed in config templates (expressions and {{% if %}} are)")
        unknown = sorted(meta.find_undeclared_variables(ast) - set(allowed))
        if unknown:
            escaped = next((n for n in unknown if re.search(r"\{\{\s*" + n + r"\s*\}\}", source)), None)
            hint = (
                f"; in dlt {{{{{escaped}}}}} is the literal text {{{escaped}}}, here {{{{ … }}}} is Jinja: write a literal "
                f"brace as {{{{ '{{' }}}}, e.g. {{{{ '{{{escaped}}}' }}}}"
                if escaped
                else ""
            )
            raise ValueError(
                f"{where}: template uses undeclared name {', '.join(map(repr, unknown))}"
                f" (available here: {', '.join(sorted(allowed))}){hint}"
            )
        self.secret_names = sorted(referenced_keys(ast, "secrets"))
        #: parent fields read, as key chains (``resources.issues.number`` -> ("issues", "number"))
        self.resource_paths = name_paths(ast, "resources")
        single = _SINGLE_EXPRESSION.match(source)
        try:
            if single and "{{" not in single.group(1) and "{%" not in source:
                self._expression: t.Any = _ENV.compile_expression(single.group(1).strip())
                self._template: t.Any = None
            else:
                self._expression = None
                self._template = _ENV.from_string(source)
        except TemplateSyntaxError as exc:
            raise ValueError(f"{where}: template syntax error: {exc.message}") from None

    @property
    def uses_secrets(self) -> bool:
        return bool(self.secret_names)

    def __call__(self, context: t.Mapping[str, t.Any]) -> t.Any:
        outer = getattr(_ACTIVE, "budget", None)
        _ACTIVE.budget = budget = _Budget()
        evaluation = OVERSEER.start() if outer is None else None
        try:
            try:
                result = self._expression(**context) if self._expression is not None else self._template.render(**context)
                budget.step(result)
                if isinstance(result, _CONTAINERS) and _text_size(result, MAX_OUTPUT) > MAX_OUTPUT:
                    raise TemplateLimitError(f"its value would be more than {MAX_OUTPUT:,} characters as text")
            finally:
                if evaluation is not None:
                    OVERSEER.finish(evaluation)
            return result
        except TemplateTimeout:  # raised by the overseer, perhaps as the finally above began
            if evaluation is not None:
                OVERSEER.finish(evaluation)
            raise TemplateEvaluationError(f"{self.where}: template refused: ran longer than {TIME_BUDGET:g} s") from None
        except TemplateLimitError as exc:
            raise TemplateEvaluationError(f"{self.where}: template refused: {exc}") from None
        except TemplateEvaluationError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure inside a template is reported with its path
            raise TemplateEvaluationError(f"{self.where}: template error: {type(exc).__name__}: {exc}") from None
        finally:
            _ACTIVE.budget = outer


def compile_tree(value: t.Any, where: str, allowed: t.AbstractSet[str]) -> t.Any:
    """Compile every template string inside a JSON-like value (returns a new tree)."""
    if isinstance(value, dict):
        return {k: compile_tree(v, config_path(where, k), allowed) for k, v in value.items()}
    if isinstance(value, list):
        return [compile_tree(v, f"{where}[{i}]", allowed) for i, v in enumerate(value)]
    if is_template(value):
        return Template(value, where, allowed)
    return value


def render_tree(value: t.Any, context: t.Mapping[str, t.Any]) -> t.Any:
    """Evaluate a tree produced by :func:`compile_tree`."""
    if isinstance(value, Template):
        return value(context)
    if isinstance(value, dict):
        return {k: render_tree(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, context) for v in value]
    return value


def template_config(settings: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What ``config`` names in a template: the settings except ``secrets``, so that a
    secret is only ever read as ``secrets.NAME`` (and so known to be a credential)."""
    return {key: value for key, value in settings.items() if key != "secrets"}


def has_templates(value: t.Any) -> bool:
    return next(templates_in(value), None) is not None


def uses_secrets(value: t.Any) -> bool:
    """Whether any template in the tree reads ``secrets``."""
    return any(template.uses_secrets for template in templates_in(value))


def templates_in(value: t.Any) -> t.Iterator[Template]:
    if isinstance(value, Template):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from templates_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from templates_in(v)
