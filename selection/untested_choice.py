"""Choosing among the first versions when the tester wrote no usable tests: the outputs most agree on.

Without tests the run cannot go on, and the workspace used to keep the first version, written from
the plan; when the plan misread the goal, that version is the one most likely wrong. The versions
are instead run on inputs made from the goal's typed signature (a few small values per type), and
the earliest version of the largest group returning the same outputs is kept: independent versions
are wrong in their own ways and right in the same way (MBR-exec). Python only, like the probe.
"""

from __future__ import annotations

from agent_graph.context import Context
from agent_graph.roles import emit
from agent_graph.selection.agreement import (
    cluster_key,
    cluster_sizes,
    goal_calls,
    output_probe,
    written_this_iteration,
)
from agent_graph.selection.candidates import try_candidate
from agent_graph.state import AgentState


def choose_without_tests(state: AgentState, context: Context, module: str) -> dict[str, str] | None:
    """The files of the version most others agree with on the signature's inputs, or None when
    there is nothing to choose (one distinct version, not Python, no typed signature to call)."""
    written = written_this_iteration(state)
    if len(written) < 2 or state.get("language", "python") != "python":
        return None
    calls = goal_calls(state.get("task", ""))
    if not calls:
        return None
    probe = output_probe(module, calls)
    candidates = [try_candidate(files, state, context, {}, probe) for files in written.values()]
    answered = [c for c in candidates if c.outputs is not None]
    if not answered:
        return None
    sizes = cluster_sizes(answered)
    chosen = max(answered, key=lambda c: sizes[cluster_key(c)])  # the largest group; max keeps the earliest
    emit(
        "samples_without_tests",
        iteration=state.get("iteration", 1),
        agreeing=[sizes[cluster_key(c)] if c.outputs is not None else None for c in candidates],
        chosen=candidates.index(chosen) + 1,
    )
    return chosen.files
