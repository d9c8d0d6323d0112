"""The Node.js adapter: `node:test` files required with CommonJS."""

from __future__ import annotations

import re

from agent_graph.languages.base import TestCheck

# `test('name', ...)` / `it('name', ...)` at any depth: the names node:test reports.
_TEST_CALL = re.compile(r"""\b(?:test|it)\s*\(\s*(['"`])(.+?)\1""")


class NodeAdapter:
    name = "node"
    source_suffix = ".js"

    def test_path(self, stem: str) -> str:
        return f"{stem}.test.js"

    def import_line(self, stem: str, names: set[str]) -> str:
        if names:
            return f"const {{ {', '.join(sorted(names))} }} = require('./{stem}.js');"
        return f"const {stem} = require('./{stem}.js');"

    def cut_off_line(self, source: str) -> str | None:
        opened = sum(source.count(c) for c in "([{") - sum(source.count(c) for c in ")]}")
        last = source.rstrip().split("\n")[-1].strip() if source.strip() else ""
        return last if opened > 0 and last else None

    def clean_source(self, source: str, api: set[str]) -> str:
        return source.rstrip() + "\n"

    def test_names(self, source: str) -> list[str]:
        return [m.group(2) for m in _TEST_CALL.finditer(source)]

    def remove_tests(self, source: str, names: set[str]) -> str:
        return source

    def repair_tests(self, source: str, stem: str, names: set[str]) -> str:
        return source

    def certainly_wrong_tests(self, source: str, goal: str, names: set[str], functions: bool) -> list[TestCheck]:
        return []
