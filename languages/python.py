"""The Python adapter: pytest files, AST-based repairs, and the function-level test checks."""

from __future__ import annotations

from agent_graph.languages.base import TestCheck
from agent_graph.repairs.python import (
    cut_off_line,
    has_python_tests,
    remove_tests,
    repair_python_tests,
    salvage_python,
    strip_tests_from_source,
)


class PythonAdapter:
    name = "python"
    source_suffix = ".py"

    def test_path(self, stem: str) -> str:
        return f"test_{stem}.py"

    def import_line(self, stem: str, names: set[str]) -> str:
        return f"from {stem} import {', '.join(sorted(names)) or '*'}"

    def cut_off_line(self, source: str) -> str | None:
        return cut_off_line(source)

    def clean_source(self, source: str, api: set[str]) -> str:
        return strip_tests_from_source(salvage_python(source), api).rstrip() + "\n"

    def test_names(self, source: str) -> list[str]:
        from agent_graph.checks.signature_check import parsed_tests

        return [name for name, _ in parsed_tests(source)] if has_python_tests(source) else []

    def remove_tests(self, source: str, names: set[str]) -> str:
        return remove_tests(source, names)

    def repair_tests(self, source: str, stem: str, names: set[str]) -> str:
        return repair_python_tests(source, stem, names)

    def certainly_wrong_tests(self, source: str, goal: str, names: set[str], functions: bool) -> list[TestCheck]:
        from agent_graph.checks import certainly_wrong_tests

        return [TestCheck(c.test, c.reason) for c in certainly_wrong_tests(source, goal, names, functions)]
