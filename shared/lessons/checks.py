"""Marking that pupil code cannot forge: a test's checks split into probes and expectations.

A code test's ``assert_code`` is written as ordinary Python assertions (``assert clamp(12, 0, 10) ==
10``). It is never run as written. :func:`compile_checks` parses it and splits it in two:

- the **probe steps** go to the pupil's process (through the shim, ``probe_shim.py``): setup
  statements, and for each assertion only the expression whose value is wanted (``clamp(12, 0, 10)``);
- the **expectations** stay with the judge (the runner service, or the app for a provisional mark):
  the expected value, how to compare, and the text to show when it fails.

The pupil's process returns plain data only; :func:`judge_test` rebuilds it strictly and compares it
here, where the pupil cannot reach. Why this shape, and what is left, is in docs/sandbox.md ("Why marks
cannot be forged"). The grammar is deliberately small so that no verdict can be computed inside the
pupil's process: no comparisons, ``and``/``or``/``not`` or conditional expressions inside a probe, no
introspection builtins, no names or attributes that start with ``_``.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

__all__ = [
    "CheckCompileError",
    "CompiledChecks",
    "Expectation",
    "TestEvidence",
    "TestVerdict",
    "compile_checks",
    "decode_plain",
    "judge_test",
    "plain_equal",
]

ExpectationKind = Literal["equal", "truthy", "falsy", "is_none", "is_not_none", "is_true", "is_false"]

# Builtins that compute a verdict (or reach into objects) would run where the pupil can replace them.
_FORBIDDEN_NAMES = frozenset(
    {
        "all", "any", "bool", "breakpoint", "callable", "classmethod", "compile", "delattr", "dir",
        "eval", "exec", "exit", "getattr", "globals", "hasattr", "hash", "help", "id", "input",
        "isinstance", "issubclass", "locals", "memoryview", "object", "property", "quit", "setattr",
        "staticmethod", "super", "type", "vars",
    }
)  # fmt: skip
_PROBE_NODES: tuple[type[ast.AST], ...] = (
    ast.Name,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.Call,
    ast.keyword,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Starred,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.UnaryOp,
    ast.BinOp,
    ast.Load,
    ast.Store,
    ast.USub,
    ast.UAdd,
    ast.Add,
    ast.Sub,
    ast.Mult,
)
_SETUP_STATEMENTS = (ast.Assign, ast.Expr, ast.With, ast.Pass)
MAX_REPR = 200


class CheckCompileError(ValueError):
    """``assert_code`` does not fit the checks grammar; ``line`` is 1-based within ``assert_code``."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Expectation:
    """What the judge wants from one probe: ``kind`` and, for ``equal``, the expected plain value."""

    kind: ExpectationKind
    source: str
    line: int
    expected: Any = None
    message: str | None = None

    def describe_failure(self, actual: Any) -> str:
        shown = _short_repr(actual)
        wanted = {
            "equal": f"expected {_short_repr(self.expected)}",
            "truthy": "expected a true value",
            "falsy": "expected a false value",
            "is_none": "expected None",
            "is_not_none": "expected a value other than None",
            "is_true": "expected True",
            "is_false": "expected False",
        }[self.kind]
        text = f"`{self.source}` gave {shown}, {wanted}"
        return f"{self.message} ({text})" if self.message else text

    def accepts(self, actual: Any) -> bool:
        if self.kind == "equal":
            return plain_equal(actual, self.expected)
        if self.kind == "truthy":
            return bool(actual)
        if self.kind == "falsy":
            return not actual
        if self.kind == "is_none":
            return actual is None
        if self.kind == "is_not_none":
            return actual is not None
        if self.kind == "is_true":
            return actual is True
        return actual is False


@dataclass(frozen=True)
class CompiledChecks:
    """``steps`` go to the pupil's process (``["run", source]`` or ``["probe", index, expression]``);
    ``expectations`` never leave the judge."""

    steps: tuple[tuple[Any, ...], ...]
    expectations: tuple[Expectation, ...]

    def steps_for_shim(self) -> list[list[Any]]:
        return [list(step) for step in self.steps]


EMPTY_CHECKS = CompiledChecks(steps=(), expectations=())


@lru_cache(maxsize=1024)
def compile_checks(assert_code: str | None) -> CompiledChecks:
    """Split ``assert_code`` into probe steps and expectations; raises `CheckCompileError` naming the line.

    Top-level statements: ``assert PROBE == LITERAL`` (or ``LITERAL == PROBE``), ``assert PROBE``,
    ``assert not PROBE``, ``assert PROBE is None`` / ``is not None`` / ``is True`` / ``is False``,
    ``assert A and B`` (each part on its own), an optional string message after a comma; and setup:
    assignments, calls and ``with`` blocks (e.g. to write a file the pupil's code will read).
    """
    if assert_code is None or not assert_code.strip():
        return EMPTY_CHECKS
    try:
        tree = ast.parse(assert_code, "<test>", "exec")
    except SyntaxError as error:
        raise CheckCompileError(error.lineno or 1, f"not valid Python: {error.msg}") from None
    steps: list[tuple[Any, ...]] = []
    expectations: list[Expectation] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assert):
            for expectation, probe in _split_assert(statement):
                _check_probe(probe)
                steps.append(("probe", len(expectations), ast.unparse(probe)))
                expectations.append(expectation)
        elif isinstance(statement, _SETUP_STATEMENTS):
            _check_setup(statement)
            steps.append(("run", ast.unparse(statement)))
        else:
            raise CheckCompileError(
                statement.lineno,
                f"`{type(statement).__name__}` statements are not allowed in checks: use assignments, "
                "calls, `with` blocks and `assert PROBE == EXPECTED`",
            )
    if not expectations:
        raise CheckCompileError(1, "the checks contain no `assert`: nothing would be marked")
    return CompiledChecks(steps=tuple(steps), expectations=tuple(expectations))


def _split_assert(statement: ast.Assert) -> list[tuple[Expectation, ast.expr]]:
    message: str | None = None
    if statement.msg is not None:
        if not (isinstance(statement.msg, ast.Constant) and isinstance(statement.msg.value, str)):
            raise CheckCompileError(statement.lineno, "an assert's message must be a plain string")
        message = statement.msg.value
    test = statement.test
    parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
    return [_expectation(part, statement.lineno, message) for part in parts]


def _expectation(test: ast.expr, line: int, message: str | None) -> tuple[Expectation, ast.expr]:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return Expectation("falsy", ast.unparse(test.operand), line, message=message), test.operand
    if isinstance(test, ast.Compare):
        if len(test.ops) != 1:
            raise CheckCompileError(line, "write one comparison per assert (`a == b`, not `a == b == c`)")
        left, operator, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(operator, ast.Eq):
            probe, literal = (left, right) if _is_literal(right) else (right, left)
            if not _is_literal(literal):
                raise CheckCompileError(
                    line,
                    f"`{ast.unparse(test)}`: one side of `==` must be the expected value written out "
                    "as a literal (numbers, strings, lists, tuples, sets, dicts, True/False/None)",
                )
            expected = _literal_value(literal, line)
            return Expectation("equal", ast.unparse(probe), line, expected, message), probe
        if isinstance(operator, ast.Is | ast.IsNot) and isinstance(right, ast.Constant):
            kinds: dict[tuple[bool, object], ExpectationKind] = {
                (True, None): "is_none",
                (False, None): "is_not_none",
                (True, True): "is_true",
                (True, False): "is_false",
            }
            key = (isinstance(operator, ast.Is), right.value)
            if right.value is None or right.value is True or right.value is False:
                kind = kinds.get(key)
                if kind is not None:
                    return Expectation(kind, ast.unparse(left), line, message=message), left
        raise CheckCompileError(
            line,
            f"`{ast.unparse(test)}`: only `==` with an expected value, `is None`, `is not None`, "
            "`is True` and `is False` can be checked",
        )
    return Expectation("truthy", ast.unparse(test), line, message=message), test


def _constant_only(node: ast.AST) -> bool:
    """Built from literals alone (`["la"] * 5`, `-3`): nothing of the pupil's takes part."""
    literal_nodes = (ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BinOp, ast.UnaryOp)
    operators = (ast.Load, ast.USub, ast.UAdd, ast.Add, ast.Sub, ast.Mult)
    return all(isinstance(inner, literal_nodes + operators) for inner in ast.walk(node))


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _literal_value(node: ast.expr, line: int) -> Any:
    value = ast.literal_eval(node)
    try:
        _validate_plain(value)
    except ValueError as error:
        raise CheckCompileError(line, f"the expected value {error}") from None
    return value


def _validate_plain(value: Any, depth: int = 0) -> None:
    if depth > 64:
        raise ValueError("is nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, float, str, bytes):
        return
    if kind in (list, tuple, set, frozenset):
        for item in value:
            _validate_plain(item, depth + 1)
        return
    if kind is dict:
        for key, item in value.items():
            _validate_plain(key, depth + 1)
            _validate_plain(item, depth + 1)
        return
    raise ValueError(f"holds a {kind.__name__}, which is not plain data")


def _check_setup(statement: ast.stmt) -> None:
    if isinstance(statement, ast.Pass):
        return
    if isinstance(statement, ast.With):
        for item in statement.items:
            _check_probe(item.context_expr)
            if item.optional_vars is not None:
                _check_target(item.optional_vars)
        for inner in statement.body:
            if isinstance(inner, ast.Assert):
                raise CheckCompileError(inner.lineno, "write asserts at the top level, not inside `with`")
            if not isinstance(inner, _SETUP_STATEMENTS):
                raise CheckCompileError(
                    inner.lineno, f"`{type(inner).__name__}` statements are not allowed in checks"
                )
            _check_setup(inner)
        return
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            _check_target(target)
        _check_probe(statement.value)
        return
    if isinstance(statement, ast.Expr):
        _check_probe(statement.value)


def _check_target(target: ast.expr) -> None:
    if isinstance(target, ast.Name):
        _check_name(target.id, target.lineno)
        return
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            _check_target(element)
        return
    raise CheckCompileError(target.lineno, "assign to plain names only in checks (`data = [3, 1, 2]`)")


def _check_name(name: str, line: int) -> None:
    if name.startswith("_"):
        raise CheckCompileError(line, f"`{name}`: names starting with `_` are not allowed in checks")
    if name in _FORBIDDEN_NAMES:
        raise CheckCompileError(
            line,
            f"`{name}` is not allowed in checks: it would decide the result inside the pupil's program, "
            "where it can be replaced; compare values with `==` instead",
        )


def _check_probe(expression: ast.expr) -> None:
    """A probe computes values only: comparisons, boolean logic and introspection are refused."""
    for node in ast.walk(expression):
        line: int = getattr(node, "lineno", None) or getattr(expression, "lineno", None) or 1
        if isinstance(node, ast.Compare | ast.BoolOp | ast.IfExp) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        ):
            raise CheckCompileError(
                line,
                f"`{ast.unparse(node)}`: comparisons and `and`/`or`/`not`/`if` inside a checked "
                "expression would be decided in the pupil's program; write `assert VALUE == EXPECTED`",
            )
        if not isinstance(node, _PROBE_NODES):
            raise CheckCompileError(
                line, f"`{ast.unparse(node)}`: {type(node).__name__} is not allowed in a checked expression"
            )
        if isinstance(node, ast.Name):
            _check_name(node.id, line)
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise CheckCompileError(line, f"`.{node.attr}`: attributes starting with `_` are not allowed")
        elif isinstance(node, ast.comprehension) and (node.ifs or node.is_async):
            raise CheckCompileError(line, "a comprehension in checks cannot filter with `if`")
        elif isinstance(node, ast.BinOp | ast.UnaryOp) and not _constant_only(node):
            raise CheckCompileError(
                line, f"`{ast.unparse(node)}`: arithmetic in checks is allowed on literals only"
            )


# -- judging -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestEvidence:
    """What came back from one test's process: plain bytes, nothing the pupil's process judged."""

    __test__ = False  # not a pytest test class

    status: str  # "success", "error", "timeout", "memory" or "output_limit" (of the process)
    stdout: str
    stderr: str
    report: bytes
    exit_code: int | None = None
    timeout_seconds: float = 0.0


@dataclass(frozen=True)
class TestVerdict:
    """Whether one test passed, and a message a pupil can act on."""

    __test__ = False  # not a pytest test class

    passed: bool
    message: str


def judge_test(checks: CompiledChecks, expected_stdout: str | None, evidence: TestEvidence) -> TestVerdict:
    """Pass or fail one test from its evidence. Anything unexpected in the report fails the test."""
    if evidence.status == "timeout":
        return TestVerdict(
            False,
            f"took longer than {evidence.timeout_seconds:g} s "
            "(is there an infinite loop, or a wait for input?)",
        )
    if evidence.status == "memory":
        return TestVerdict(False, "ran out of memory")
    if evidence.status == "output_limit":
        return TestVerdict(False, "printed more output than allowed")
    records = _read_report(evidence.report)
    if records is None:
        return TestVerdict(False, "the test's report was unreadable")
    values: dict[int, Any] = {}
    failures: dict[int, str] = {}
    done = False
    for record in records:
        event = record.get("event")
        if done:
            return TestVerdict(False, "the program wrote to the test's report after the test finished")
        if event == "program_raised":
            error = _text(record.get("error"))
            return TestVerdict(False, f"the program raised {error}{_last_line(evidence)}")
        if event == "setup_raised":
            return TestVerdict(False, "the test's setup raised " + _text(record.get("error")))
        if event == "done":
            done = True
            continue
        probe = record.get("probe")
        if type(probe) is not int or not 0 <= probe < len(checks.expectations):
            return TestVerdict(False, "the test's report was unreadable")
        if probe in values or probe in failures:
            return TestVerdict(False, "the test's report was tampered with (a value was reported twice)")
        expectation = checks.expectations[probe]
        if event == "value":
            try:
                values[probe] = decode_plain(record.get("value"))
            except ValueError:
                return TestVerdict(False, "the test's report was unreadable")
        elif event == "raised":
            failures[probe] = f"`{expectation.source}` raised {_text(record.get('error'))}"
        elif event == "not_plain":
            failures[probe] = (
                f"`{expectation.source}` gave a value of type {_text(record.get('type'))}, which is not "
                "plain data: marks compare numbers, strings, lists, tuples, sets, dicts, True, False and "
                "None only"
            )
        else:
            return TestVerdict(False, "the test's report was unreadable")
    if not done or len(values) + len(failures) != len(checks.expectations):
        message = "the program ended before the test could finish"
        if evidence.exit_code not in (None, 0):
            message += f" (exit code {evidence.exit_code})"
        return TestVerdict(False, message + _last_line(evidence))
    for index, expectation in enumerate(checks.expectations):
        if index in failures:
            return TestVerdict(False, failures[index])
        if not expectation.accepts(values[index]):
            return TestVerdict(False, expectation.describe_failure(values[index]))
    if expected_stdout is not None:
        expected, actual = _output_lines(expected_stdout), _output_lines(evidence.stdout)
        if expected != actual:
            return TestVerdict(
                False, "the output differs from what was expected: " + _first_difference(expected, actual)
            )
    return TestVerdict(True, "")


def _read_report(raw: bytes) -> list[dict[str, Any]] | None:
    records: list[dict[str, Any]] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    for line in text.splitlines():
        if not line:
            continue
        try:
            record = json.loads(line, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict):
            return None
        records.append(record)
    return records


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


_TAGS = frozenset({"tuple", "set", "frozenset", "dict", "bytes", "float", "int"})


def decode_plain(encoded: Any, depth: int = 0) -> Any:
    """Rebuild a value the shim serialised; raises ValueError for anything that is not its format."""
    if depth > 64:
        raise ValueError("nested too deeply")
    kind = type(encoded)
    if encoded is None or kind in (bool, int, float, str):
        return encoded
    if kind is list:
        return [decode_plain(item, depth + 1) for item in encoded]
    if kind is not dict or len(encoded) != 1:
        raise ValueError("not a plain value")
    tag, inner = next(iter(encoded.items()))
    if tag not in _TAGS:
        raise ValueError(f"unknown tag {tag!r}")
    if tag == "bytes":
        if type(inner) is not str:
            raise ValueError("bytes must be hex")
        return bytes.fromhex(inner)
    if tag == "float":
        if inner not in ("nan", "inf", "-inf"):
            raise ValueError("bad float")
        return float(inner)
    if tag == "int":
        if type(inner) is not str or len(inner) > 20_000:
            raise ValueError("bad int")
        return int(inner, 16)
    if type(inner) is not list:
        raise ValueError(f"{tag} must hold a list")
    if tag == "dict":
        result: dict[Any, Any] = {}
        for pair in inner:
            if type(pair) is not list or len(pair) != 2:
                raise ValueError("dict items must be pairs")
            key = decode_plain(pair[0], depth + 1)
            try:
                result[key] = decode_plain(pair[1], depth + 1)
            except TypeError as error:
                raise ValueError("unhashable dict key") from error
        return result
    items = [decode_plain(item, depth + 1) for item in inner]
    if tag == "tuple":
        return tuple(items)
    try:
        return set(items) if tag == "set" else frozenset(items)
    except TypeError as error:
        raise ValueError("unhashable set item") from error


def plain_equal(actual: Any, expected: Any) -> bool:
    """Equality between two plain values built here: True is not 1, a list is not a tuple, 1 == 1.0."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    numbers = (int, float)
    if type(expected) in numbers and type(actual) in numbers:
        if isinstance(expected, float) and isinstance(actual, float) and math.isnan(expected):
            return math.isnan(actual)
        return bool(actual == expected)
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, list | tuple):
        return len(actual) == len(expected) and all(map(plain_equal, actual, expected))
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(plain_equal(actual[k], expected[k]) for k in expected)
    return bool(actual == expected)


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 3] + "..."


def _text(value: Any) -> str:
    return str(value)[:300] if value is not None else "an error"


def _last_line(evidence: TestEvidence) -> str:
    lines = evidence.stderr.strip().splitlines()
    return f" ({lines[-1][:300]})" if lines else ""


def _output_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _first_difference(expected: Sequence[str], actual: Sequence[str]) -> str:
    for number, (want, got) in enumerate(zip(expected, actual, strict=False), start=1):
        if want != got:
            return f"line {number}: expected {want[:200]!r}, got {got[:200]!r}"
    if len(expected) > len(actual):
        return f"line {len(actual) + 1}: expected {expected[len(actual)][:200]!r}, got no more output"
    return f"line {len(expected) + 1}: unexpected extra output {actual[len(expected)][:200]!r}"
