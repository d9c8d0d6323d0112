"""The interface every language adapter implements."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TestCheck:
    """A generated test judged unusable before it runs, and why (said to the tester)."""

    test: str
    reason: str


class LanguageAdapter(Protocol):
    """What differs between languages, for every node and check."""

    name: str
    source_suffix: str  # ".py", ".js"

    def test_path(self, stem: str) -> str:
        """Where the generated test file for module `stem` goes."""
        ...

    def import_line(self, stem: str, names: set[str]) -> str:
        """The exact line a test file uses to load module `stem` (its public `names`)."""
        ...

    def cut_off_line(self, source: str) -> str | None:
        """The unfinished last line of an answer that stops mid-statement, or None when it is whole."""
        ...

    def module_names(self, source: str) -> set[str]:
        """Names `source` binds at its top level: imports, functions, classes, variables (none when
        it does not parse)."""
        ...

    def methods_only(self, source: str) -> set[str]:
        """Names `source` defines only as methods of a class, not at module level (none when it does
        not parse)."""
        ...

    def clean_source(self, source: str, api: set[str]) -> str:
        """A source answer cleaned of slips: echoed tool calls, tests pasted into it (names in `api` stay)."""
        ...

    def test_names(self, source: str) -> list[str]:
        """The tests a test file defines, by the names the runner reports."""
        ...

    def remove_tests(self, source: str, names: set[str]) -> str:
        """The test file without the tests named."""
        ...

    def set_aside_tests(self, tests: dict[str, str], failed: set[str], keep: str) -> dict[str, str]:
        """The test files without the `failed` tests, named as the runner reports them (one
        parametrized row alone where the runner names rows), except the file `keep` (the goal's
        own examples)."""
        ...

    def compares_values(self, message: str) -> bool:
        """Whether a failure's message is an assertion that compared values (what the test expects
        against what the code gave), not a crash or an error the code raised."""
        ...

    def repair_tests(self, source: str, stem: str, names: set[str], *, runs_program: bool = False) -> str:
        """A generated test file with the slips a small model makes undone (imports of the code...).
        `runs_program`: the profile's tests run the program, so none of its imports is added."""
        ...

    def certainly_wrong_tests(
        self,
        source: str,
        goal: str,
        names: set[str],
        functions: bool,
        *,
        profile: str = "library",
        files: Collection[str] = (),
    ) -> list[TestCheck]:
        """Tests no correct program can pass, one reason each. `functions`: the goal declares typed
        functions, so the function-level checks (signature, examples, conflicts) apply. `profile` and
        `files` (the plan's source paths) enable the program checks (`checks.program_tests`): a test
        importing a name the plan never declares, a cli_tool/data_pipeline file that never runs the
        program. A check whose `test` is "" is about the whole file (it defines no test at all)."""
        ...


def without_doubted(
    adapter: LanguageAdapter, tests: dict[str, str], doubted: set[str], keep: str
) -> dict[str, str] | None:
    """The test files without the `doubted` tests (`set_aside_tests`), or None when none of them
    could be taken out (a parametrize row whose id is unsure stays), and nothing may then be
    reported as set aside."""
    if not doubted:
        return None
    kept = adapter.set_aside_tests(tests, doubted, keep)
    return kept if kept != tests else None
