"""Generated tests that contradict the goal's own signature are wrong before they run.

When the goal declares a typed Python function (`def and_tuples(a: Tuple[int, int, int, int], ...)
-> Tuple[int, int, int, int]`), a test that calls it with `()` or floats, or expects an 8-tuple
back, tests a function the user never asked for. A small model writes such tests often, and the
loop then spends its iterations bending correct code towards them. These checks are static and
conservative: only literal arguments (and arguments a Hypothesis strategy of a certain type draws)
and literal expected values are judged, only against annotations this module understands, and
anything unclear counts as consistent.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from agent_graph.checks.strategy_samples import Drawn, drawn_samples
from agent_graph.prompts.test_checks import (
    argument_type,
    drawn_argument_type,
    expected_type,
    too_many_arguments,
)
from agent_graph.roles import literal_value
from agent_graph.sandbox.return_types_conftest import conforms, type_name


@dataclass(frozen=True)
class Signature:
    """A goal's function: its parameters' annotations (None: not annotated) and its return's."""

    name: str
    parameters: tuple[tuple[str, ast.expr | None], ...]
    returns: ast.expr | None
    variadic: bool = False  # takes *args: any number of positional arguments
    declaration: str = ""  # as the goal states it: `name(arg: Type, ...) -> Type`


@dataclass(frozen=True)
class Contradiction:
    """Why one generated test cannot be right, in words a tester can act on."""

    test: str
    reason: str


def goal_signatures(goal: str) -> dict[str, Signature]:
    """The typed `def`s the goal states, by name (the goal as a whole, or each `def` line in it)."""
    sources = [goal, *re.findall(r"```(?:python|py)?\n(.*?)```", goal, re.S)]
    sources += [
        f"{line}\n    ..." for line in re.findall(r"\bdef\s+\w+\s*\([^\n]*?\)\s*(?:->[^:\n]+)?:", goal)
    ]
    found: dict[str, Signature] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:  # top-level functions only: a method's `self` would shift every argument
            if isinstance(node, ast.FunctionDef) and node.name not in found:
                arguments = [*node.args.posonlyargs, *node.args.args]
                if arguments and arguments[0].arg in ("self", "cls"):
                    continue  # a method's line, found on its own
                found[node.name] = Signature(
                    node.name,
                    tuple((a.arg, _annotation(a.annotation)) for a in arguments),
                    _annotation(node.returns),
                    variadic=node.args.vararg is not None,
                    declaration=_declaration(node),
                )
    return found


def _declaration(node: ast.FunctionDef) -> str:
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{node.name}({ast.unparse(node.args)}){returns}"


def _annotation(node: ast.expr | None) -> ast.expr | None:
    """An annotation as an expression (a string annotation is parsed; an unparsable one is None)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    return node


def _literal(node: ast.expr) -> tuple[bool, object]:
    """(True, value) when `node` is a literal (`pytest.approx(literal)` counts as the literal)."""
    if isinstance(node, ast.Call) and type_name(node.func) == "approx" and len(node.args) == 1:
        node = node.args[0]
    return literal_value(node)


def collected_tests(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every test pytest would collect, top-level or in a `Test*` class, with its name."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for method in node.body:
                if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef) and method.name.startswith(
                    "test"
                ):
                    yield method.name, method


def parsed_tests(source: str) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """`collected_tests` of a file's source; none when it does not parse."""
    try:
        return list(collected_tests(ast.parse(source)))
    except SyntaxError:
        return []


def decorator_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The names of a test's decorators, called or not: `given` for `@given(...)`, `fixture` for
    `@pytest.fixture`."""
    return {type_name(d.func if isinstance(d, ast.Call) else d) for d in function.decorator_list}


def raises_blocks(function: ast.AST) -> Iterator[ast.With | ast.AsyncWith]:
    """The `with pytest.raises(...)` blocks in a test."""
    for node in ast.walk(function):
        if isinstance(node, ast.With | ast.AsyncWith) and any(
            isinstance(item.context_expr, ast.Call) and type_name(item.context_expr.func) == "raises"
            for item in node.items
        ):
            yield node


def _inside_raises(function: ast.AST) -> set[int]:
    """ids of the nodes inside `pytest.raises` blocks: a deliberately bad call is not judged here
    (whether the goal asks for that error is the reflector's question)."""
    return {
        id(n) for block in raises_blocks(function) for statement in block.body for n in ast.walk(statement)
    }


def _call_contradiction(call: ast.Call, signature: Signature, drawn: dict[str, Drawn]) -> str:
    """Why the literal arguments of `call`, or those drawn by a known Hypothesis strategy, do not fit
    the signature ('' when they do, or are unknown)."""
    declared = dict(signature.parameters)
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return ""
    if len(call.args) > len(signature.parameters) and not signature.variadic:
        return too_many_arguments(
            ast.unparse(call), len(call.args), signature.name, len(signature.parameters)
        )
    pairs = [(name, arg) for (name, _), arg in zip(signature.parameters, call.args, strict=False)]
    pairs += [(k.arg, k.value) for k in call.keywords if k.arg in declared]
    for name, argument in pairs:
        is_literal, value = _literal(argument)
        annotation = declared[name]
        if is_literal and not conforms(value, annotation):
            assert annotation is not None
            return argument_type(ast.unparse(call), ast.unparse(argument)[:60], name, ast.unparse(annotation))
        draw = drawn.get(argument.id) if isinstance(argument, ast.Name) else None
        if draw is not None and not conforms(draw.sample, annotation):
            assert annotation is not None
            return drawn_argument_type(ast.unparse(call), draw.strategy[:80], name, ast.unparse(annotation))
    return ""


def _expected_contradiction(compare: ast.Compare, signatures: dict[str, Signature]) -> str:
    """Why `f(...) == literal` (either way round) expects what `f`'s return type cannot equal."""
    if len(compare.ops) != 1 or not isinstance(compare.ops[0], ast.Eq):
        return ""
    for call_side, other in ((compare.left, compare.comparators[0]), (compare.comparators[0], compare.left)):
        if isinstance(call_side, ast.Call) and isinstance(call_side.func, ast.Name):
            signature = signatures.get(call_side.func.id)
            is_literal, value = _literal(other)
            if signature and is_literal and not conforms(value, signature.returns):
                assert signature.returns is not None
                return expected_type(
                    ast.unparse(compare)[:120],
                    ast.unparse(other)[:60],
                    signature.name,
                    ast.unparse(signature.returns),
                )
    return ""


def contradictions(source: str, signatures: dict[str, Signature]) -> list[Contradiction]:
    """The tests in a pytest file that contradict the goal's signatures, one reason each."""
    if not signatures:
        return []
    found: list[Contradiction] = []
    for name, function in parsed_tests(source):
        excused = _inside_raises(function)
        drawn = drawn_samples(function)
        for node in ast.walk(function):
            reason = ""
            if id(node) in excused:
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in signatures:
                reason = _call_contradiction(node, signatures[node.func.id], drawn)
            elif isinstance(node, ast.Compare):
                reason = _expected_contradiction(node, signatures)
            if reason:
                found.append(Contradiction(name, reason))
                break
    return found
