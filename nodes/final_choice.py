"""A stopped run's answer: of every version the coder wrote, the one the final tests like best.

The tests change during a run (doubtful ones are set aside, wrong ones rewritten), so each
iteration's choice was judged by the tests of its day, and the versions not chosen were never
judged again. At the end every distinct version runs against the final tests. Most tests passed
wins; among equals, the behaviour most versions share (versions failing exactly the same tests
agree with each other: the CodeT idea), then the latest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable

from agent_graph.context import Context
from agent_graph.nodes.sampling import Candidate, code_hash, try_candidate
from agent_graph.state import AgentState


def choose_final(state: AgentState, context: Context) -> Candidate | None:
    """The best of the run's versions by the final tests, or None when there is nothing to choose
    between (fewer than two distinct versions, or none of them runnable)."""
    written = state.get("versions") or []
    latest: dict[str, int] = {}  # code hash -> the index of its latest writing
    copies: Counter[str] = Counter()
    for index, version in enumerate(written):
        digest = code_hash(version["files"])
        latest[digest] = index
        copies[digest] += 1
    if len(latest) < 2 or not state.get("tests"):
        return None
    tried = {
        digest: try_candidate(written[index]["files"], state, context) for digest, index in latest.items()
    }
    runnable = {digest: c for digest, c in tried.items() if c.report is not None}
    if not runnable:
        return None
    agreement: Counter[Hashable] = Counter()
    for digest, candidate in runnable.items():
        agreement[candidate.behaviour] += copies[digest]
    best = max(
        runnable,
        key=lambda d: (runnable[d].rank, agreement[runnable[d].behaviour], latest[d]),
    )
    return runnable[best]
