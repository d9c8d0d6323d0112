"""The rows of a `@pytest.mark.parametrize` test, by the ids pytest gives them, and removing some.

A test id such as `test_f::test_f[0-0]` names one row of a parametrized test. Setting aside the
whole function for one doubted row would take its passing rows with it; when those were the only
tests left, the next run would collect none. So a doubted row
goes alone, found by the id pytest would give it: `-`-joined values for numbers, strings, booleans
and None, the name of a builtin class (`ValueError`), `<argname><index>` for containers and for
`pytest.raises(...)` / `pytest.approx(...)`, a `pytest.param`'s `id=` where given. Where the ids
cannot be worked out for sure (duplicates, `ids=`, several parametrize decorators, a name or call
whose value decides), no row is removed.
"""

from __future__ import annotations

import ast
import builtins
from typing import TypeGuard

from agent_graph.roles import literal_value


def is_parametrize(decorator: ast.expr) -> TypeGuard[ast.Call]:
    """`@pytest.mark.parametrize("a, b", [...])` (or `mark.parametrize`) with literal names and rows."""
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "parametrize"
        and len(decorator.args) >= 2
        and isinstance(decorator.args[1], ast.List | ast.Tuple)
        and _names(decorator.args[0]) is not None
    )


def argnames(decorator: ast.Call) -> list[str]:
    """The parameter names of a parametrize decorator (`is_parametrize` holds)."""
    return _names(decorator.args[0]) or []


def _names(spelled: ast.expr) -> list[str] | None:
    """Parameter names spelled `"a, b"` or `("a", "b")`; None for anything else."""
    _, names = literal_value(spelled)  # not a literal: None, refused below
    if isinstance(names, str):
        return [name.strip() for name in names.split(",") if name.strip()]
    if isinstance(names, list | tuple) and all(isinstance(name, str) for name in names):
        return list(names)
    return None


def row_nodes(decorator: ast.Call) -> list[ast.expr]:
    """The rows of a parametrize decorator (`is_parametrize` holds), as written."""
    rows = decorator.args[1]
    assert isinstance(rows, ast.List | ast.Tuple)
    return rows.elts


def row_ids(decorator: ast.Call) -> list[str] | None:
    """The id pytest gives each row of a parametrize decorator, or None when unsure."""
    names = argnames(decorator)
    if any(keyword.arg == "ids" for keyword in decorator.keywords):
        return None  # given ids (or a function making them): removing a row would shift them
    ids: list[str] = []
    for index, row in enumerate(row_nodes(decorator)):
        explicit, values = _param(row)
        if explicit is not None:
            ids.append(explicit)
            continue
        if len(names) > 1:
            if not (isinstance(values, ast.Tuple | ast.List) and len(values.elts) == len(names)):
                return None
            parts = [_value_id(value, name, index) for value, name in zip(values.elts, names, strict=True)]
        else:
            parts = [_value_id(values, names[0], index)] if names else [None]
        if None in parts:
            return None
        ids.append("-".join(str(part) for part in parts))
    return ids if len(set(ids)) == len(ids) else None


def without_rows(source: str, rows: dict[str, set[str]]) -> tuple[str, set[str]]:
    """`source` without the parametrize rows named in `rows` (function name → row ids), and the
    functions every one of whose rows is named there (to be removed whole by the caller)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, set()
    edits: list[tuple[ast.expr, str]] = []
    whole: set[str] = set()
    for function in ast.walk(tree):
        if not (isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and rows.get(function.name)):
            continue
        decorators = [d for d in function.decorator_list if is_parametrize(d)]
        if len(decorators) != 1:
            continue  # ids of stacked decorators combine; not worth guessing
        decorator = decorators[0]
        ids = row_ids(decorator)
        if ids is None:
            continue
        keep = [i for i, row_id in enumerate(ids) if row_id not in rows[function.name]]
        if not keep:
            whole.add(function.name)
        elif len(keep) < len(ids):
            edits.append((decorator.args[1], _rows_source(source, decorator, keep)))
    return _replaced(source, edits), whole


def _param(row: ast.expr) -> tuple[str | None, ast.expr]:
    """A `pytest.param(..., id="x")` row's id and values; other rows have no id of their own."""
    if isinstance(row, ast.Call) and isinstance(row.func, ast.Attribute) and row.func.attr == "param":
        values: ast.expr = row.args[0] if len(row.args) == 1 else ast.Tuple(elts=list(row.args))
        for keyword in row.keywords:
            if keyword.arg == "id" and isinstance(keyword.value, ast.Constant):
                return str(keyword.value.value), values
        return None, values
    return None, row


# Calls whose value pytest cannot name (no `__name__`), so it names the row's value by position. A
# small model writes `(-1, pytest.raises(ValueError))` as an expected value; without its id, such a
# row, failed by every version, could not be set aside and the loop would chase it.
_UNNAMED_OBJECTS = {"raises", "approx"}


def _value_id(value: ast.expr, name: str, index: int) -> str | None:
    """pytest's id for one value: numbers, booleans and None as `str()`, strings escaped to ASCII,
    a builtin class by its name, containers and pytest's raises/approx objects `<argname><index>`;
    None when it depends on what an expression evaluates to (another name or call) or on pytest's
    settings (bytes)."""
    if isinstance(value, ast.Name) and isinstance(getattr(builtins, value.id, None), type):
        return value.id  # pytest names classes (and functions) by `__name__`
    if isinstance(value, ast.Call) and _called_name(value.func) in _UNNAMED_OBJECTS:
        return f"{name}{index}"
    is_literal, literal = literal_value(value)
    if not is_literal:
        return None
    if isinstance(literal, str):
        return literal.encode("unicode_escape").decode("ascii")
    if isinstance(literal, bytes):
        return None
    if literal is None or isinstance(literal, int | float | bool | complex):
        return str(literal)
    return f"{name}{index}"


def _called_name(function: ast.expr) -> str:
    """`raises` for `pytest.raises` and a bare `raises`; '' for other attribute chains."""
    if isinstance(function, ast.Name):
        return function.id
    if (
        isinstance(function, ast.Attribute)
        and isinstance(function.value, ast.Name)
        and function.value.id == "pytest"
    ):
        return function.attr
    return ""


def _rows_source(source: str, decorator: ast.Call, keep: list[int]) -> str:
    """The decorator's rows literal with only the `keep` rows, each spelled as in the source."""
    rows = row_nodes(decorator)
    spelled = [ast.get_source_segment(source, rows[i]) or ast.unparse(rows[i]) for i in keep]
    body = "".join(f"\n    {row}," for row in spelled)
    return f"[{body}\n]" if isinstance(decorator.args[1], ast.List) else f"({body}\n)"


def _replaced(source: str, edits: list[tuple[ast.expr, str]]) -> str:
    """`source` with each node's text replaced, from the last edit back so offsets stay valid."""
    data = source.encode()  # ast's column offsets count UTF-8 bytes
    starts = [0]
    for line in data.split(b"\n"):
        starts.append(starts[-1] + len(line) + 1)
    for node, text in sorted(edits, key=lambda edit: (edit[0].lineno, edit[0].col_offset), reverse=True):
        assert node.end_lineno is not None and node.end_col_offset is not None
        begin = starts[node.lineno - 1] + node.col_offset
        end = starts[node.end_lineno - 1] + node.end_col_offset
        data = data[:begin] + text.encode() + data[end:]
    return data.decode()
