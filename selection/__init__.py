"""Choosing among the versions the coder wrote: by the tests, and by what the versions agree on.

Entry point: `choose_version`, which the `select` node calls with the iteration's versions and the
tests. For a goal that declares typed functions (`checks.functions_apply`) and tests new this
iteration, the choice is by agreement of outputs (`agreement.choose_first_version`); otherwise each
version runs the tests and the best wins, agreement breaking ties. Either way a test file that no
version could run, or that ran out of time against all of them, is sent back to the tester.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent_graph.checks import functions_apply
from agent_graph.context import Context
from agent_graph.languages.layout import module_stem
from agent_graph.roles import emit
from agent_graph.sandbox.base import TestReport
from agent_graph.selection.agreement import (
    STRONG_GROUP_VOTES,
    broken_tests,
    choose_first_version,
    cluster_sizes,
    copies_this_iteration,
    group_size,
    timed_out_tests,
)
from agent_graph.selection.candidates import Candidate, current_candidates, try_candidate
from agent_graph.state import AgentState, code_hash


@dataclass(frozen=True)
class Choice:
    """The version to test, and what the choice learned about the tests."""

    files: dict[str, str]
    report: TestReport | None = None  # the chosen version's run of the tests, when it ran
    doubted: set[str] = field(default_factory=set)  # tests every agreeing group failed: set aside
    rewrite: str = ""  # why the tester should write the tests again ('' when not)
    votes: int = 0  # how many versions agree with the chosen one


def choose_version(state: AgentState, context: Context, tests: dict[str, str], new_tests: bool) -> Choice:
    """The iteration's version to keep (see the module docstring). `new_tests`: the tests were
    written this iteration, after the versions."""
    written = current_candidates(state)
    distinct = {code_hash(v["files"]): v["files"] for v in written}
    if not distinct:
        return Choice(dict(state.get("files", {})))
    if len(distinct) == 1:
        return Choice(next(iter(distinct.values())), votes=len(written))
    if new_tests and functions_apply(state, context):
        first = choose_first_version(state, context, tests, module_stem(state))
        files = first.files or next(iter(distinct.values()))
        return Choice(files, None, first.doubted, first.rewrite, first.votes)
    tried = [try_candidate(files, state, context, tests) for files in distinct.values()]
    counts = copies_this_iteration(state)
    copies = [counts[code_hash(c.files)] for c in tried]
    sizes = cluster_sizes(tried, copies)
    best = max(tried, key=lambda c: (c.rank, group_size(sizes, c)))
    emit(
        "samples",
        iteration=state.get("iteration", 1),
        passed=[c.report.passed if c.report else None for c in tried],
        chosen=tried.index(best) + 1,
    )
    rewrite = broken_tests(tried, state) or timed_out_tests(tried) if new_tests else ""
    return Choice(best.files, best.report, set(), rewrite, group_size(sizes, best))


__all__ = ["STRONG_GROUP_VOTES", "Candidate", "Choice", "choose_version"]
