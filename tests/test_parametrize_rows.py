"""The ids worked out for parametrize rows are the ones the sandbox's pytest gives, and removing
rows by those ids keeps every other row and the file's meaning."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_graph.repairs.parametrize_rows import is_parametrize, row_ids, without_rows
from agent_graph.repairs.python import set_aside_tests
from agent_graph.sandbox.base import Sandbox
from tests.sandbox_support import BACKENDS, sandbox_fixture, write_files

# Every row fails, so the report names every id pytest gave.
ROWS = """import pytest


@pytest.mark.parametrize("n, expected", [(0, 0), (-3, 1.5), (True, None)])
def test_numbers(n, expected):
    assert False


@pytest.mark.parametrize("word", ["abc", "two words", "tab\\there", "é"])
def test_words(word):
    assert False


@pytest.mark.parametrize(("xs", "total"), [([1, 2], 3), ((4,), 4), ({"a": 1}, 1)])
def test_containers(xs, total):
    assert False


@pytest.mark.parametrize("n, expected", [pytest.param(2, 4, id="square"), (3, 9)])
def test_params(n, expected):
    assert False


@pytest.mark.parametrize("n, expected", [(-1, pytest.raises(ValueError)), (0.5, pytest.approx(0.25)), (2, ValueError)])
def test_objects(n, expected):
    assert False
"""


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from sandbox_fixture(request, "parametrize-rows")


def _decorators(source: str) -> dict[str, ast.Call]:
    return {
        node.name: next(d for d in node.decorator_list if is_parametrize(d))
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef)
    }


def test_row_ids_are_the_ones_pytest_gives(sandbox: Sandbox, tmp_path: Path) -> None:
    report = sandbox.run_tests(write_files(tmp_path, {"test_rows.py": ROWS}), "python", 60)
    collected = {failure.test for failure in report.failures}
    worked_out = {
        f"test_rows::{name}[{row_id}]"
        for name, decorator in _decorators(ROWS).items()
        for row_id in row_ids(decorator) or []
    }
    assert len(collected) == 15 and worked_out == collected


def test_removing_a_row_keeps_the_others_and_removing_every_row_removes_the_function() -> None:
    source = 'import pytest\n\n\n@pytest.mark.parametrize("a, b", [\n    (1, 2),  # right\n    (2, 5),\n])\ndef test_f(a, b):\n    assert b == a + 1\n\n\ndef test_g():\n    assert True\n'
    trimmed, emptied = without_rows(source, {"test_f": {"2-5"}})
    assert emptied == set() and "(1, 2)" in trimmed and "(2, 5)" not in trimmed and "def test_g" in trimmed
    kept = set_aside_tests({"test_x.py": source}, {"test_x::test_f[1-2]", "test_x::test_f[2-5]"}, keep="")
    assert "def test_f" not in kept["test_x.py"] and "def test_g" in kept["test_x.py"]


def test_a_row_expecting_a_raises_object_is_set_aside_alone() -> None:
    # as the 1.5B model wrote it for volume_cube: every version failed the last row, which stayed
    source = (
        "from volume_cube import volume_cube\n\nimport pytest\n\n"
        "@pytest.mark.parametrize('l, expected', [(1, 1), (2, 8), (3, 27), (0, 0), (-1, pytest.raises(ValueError))])\n"
        "def test_volume_cube(l, expected):\n    assert volume_cube(l) == expected\n"
    )
    kept = set_aside_tests(
        {"test_volume_cube.py": source}, {"test_volume_cube::test_volume_cube[-1-expected4]"}, keep=""
    )
    assert "pytest.raises" not in kept["test_volume_cube.py"] and "(0, 0)" in kept["test_volume_cube.py"]


@pytest.mark.parametrize(
    "decorator",
    [
        '@pytest.mark.parametrize("n", [1, 2], ids=["one", "two"])',  # given ids shift when a row goes
        '@pytest.mark.parametrize("n", [LIMIT, 2])',  # a name: its id is what it evaluates to
        '@pytest.mark.parametrize("n", [math.sqrt(4), 2])',  # a call: its id is what it returns
        '@pytest.mark.parametrize("n", [1, 1])',  # duplicates get suffixes
        '@pytest.mark.parametrize("n", [b"x", b"y"])',  # bytes: escaped by a pytest setting
    ],
)
def test_rows_whose_ids_are_unsure_are_not_named(decorator: str) -> None:
    source = f"import pytest\n\n{decorator}\ndef test_f(n):\n    assert n\n"
    (parsed,) = _decorators(source).values()
    assert row_ids(parsed) is None
    assert without_rows(source, {"test_f": {"1", "2", "one", "two"}}) == (source, set())
