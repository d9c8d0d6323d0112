"""Spotting code that enumerates answers instead of computing them.

Small models under test pressure write `if n == 2: return 28` for each value a test asked
about (and sometimes, with nothing to stop them, a few hundred such lines until the output
limit). That code passes its own tests, is wrong everywhere else, and costs minutes to generate.
A function with several such literal cases is sent back to the coder once, with the reason.

Base cases are not counted: comparing with 0, 1, -1, an empty string or None and returning a
constant is how recursion and guards are written. A fixed table belongs in a dict,
which is not counted either.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from agent_graph.prompts.feedback import literal_cases_feedback

# More literal cases (beyond base cases) than this in one function count as enumerating answers.
MAX_LITERAL_CASES = 2
# So many `if name == literal` tests in one answer are a table running to the output limit (a
# small model can write well over a hundred such cases, every answer at the token limit, for
# minutes per call); the answer is ended there (`runaway_table`) rather than generated to the end
# and then refused.
RUNAWAY_CASES = 24
# As the model writes it, inside a tool call's JSON string: a double quote comes escaped.
_CASE_AS_WRITTEN = re.compile(r"\b(?:el)?if \w+ == (?:-?\d|'|\\\")")

_BASE_VALUES: tuple[object, ...] = (0, 1, -1, "", None)


@dataclass(frozen=True)
class LiteralCases:
    function: str
    count: int
    first_line: int
    last_line: int
    example: str

    def feedback(self, path: str) -> str:
        return literal_cases_feedback(
            self.function, path, self.count, self.first_line, self.last_line, self.example
        )


def _constant(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant)
    if isinstance(node, ast.Tuple | ast.List):
        return all(_constant(element) for element in node.elts)
    return False


def _compared_literal(test: ast.expr) -> ast.expr | None:
    """The literal in `name == literal` (or `literal == name`), else None."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return None
    left, right = test.left, test.comparators[0]
    if isinstance(left, ast.Name) and _constant(right):
        return right
    if isinstance(right, ast.Name) and _constant(left):
        return left
    return None


def _is_base_value(literal: ast.expr) -> bool:
    try:
        value = ast.literal_eval(literal)
    except ValueError:
        return False
    return any(value is base or (type(value) is type(base) and value == base) for base in _BASE_VALUES)


def literal_cases(source: str) -> LiteralCases | None:
    """The function of `source` with the most literal cases, if it has more than the limit."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    worst: LiteralCases | None = None
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        cases = [
            node
            for node in ast.walk(function)
            if isinstance(node, ast.If)
            and len(node.body) == 1
            and isinstance(node.body[0], ast.Return)
            and _constant(node.body[0].value)
            and (literal := _compared_literal(node.test)) is not None
            and not _is_base_value(literal)
        ]
        if len(cases) > MAX_LITERAL_CASES and (worst is None or len(cases) > worst.count):
            first = min(cases, key=lambda node: node.lineno)
            worst = LiteralCases(
                function=function.name,
                count=len(cases),
                first_line=first.lineno,
                last_line=max(node.body[0].end_lineno or node.lineno for node in cases),
                example=f"if {ast.unparse(first.test)}: {ast.unparse(first.body[0])}",
            )
    return worst


def runaway_table(answer_so_far: str) -> bool:
    """Whether a coder's answer, as generated so far, has become a table of literal cases."""
    return len(_CASE_AS_WRITTEN.findall(answer_so_far)) >= RUNAWAY_CASES
