"""How the memory's hints are worded: similar solved tasks for the planner, similar past failures
for the reflector (`memory.hints` picks them; the wording is here)."""

from __future__ import annotations

PATTERN_HINTS_HEAD = "Hints from similar solved tasks (they may not fit this goal):"

FAILURE_HINTS_HEAD = "Hints from similar past failures (hints, not facts — use them only if they fit):"


def pattern_hint(goal: str, files: str, iterations: int, approach: str) -> str:
    """One solved task: its goal, its files, how long it took and its plan's summary."""
    return f"- goal: {goal[:200]} | files: {files} | took {iterations} iteration(s)" + (
        f" | approach: {approach[:200]}" if approach else ""
    )


def failure_hint(similarity: float, signature: str, hypothesis: str, fix_diff: str | None) -> list[str]:
    """One past failure's lines: how alike it is, its signature, its diagnosis and its fix."""
    lines = [f"- similarity {similarity:.2f}: {signature}"]
    if hypothesis:
        lines.append(f"  diagnosed as: {hypothesis}")
    if fix_diff:
        lines.append("  fixed by:\n" + "\n".join(f"    {line}" for line in fix_diff.splitlines()[:20]))
    return lines
