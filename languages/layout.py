"""Where a run's files go: the main module the plan names, and the generated test file beside it."""

from __future__ import annotations

from pathlib import Path

from agent_graph.state import AgentState

# The conftest.py the tester adds to a Python run: the return-type check of a goal with typed functions,
# or, for a program whose tests run it, the record of what it did in each failing test.
GENERATED_CONFTEST = "conftest.py"


def planned_paths(state: AgentState) -> list[str]:
    """The paths of the files the plan names, in its order."""
    return [f["path"] for f in state.get("plan", {}).get("files", [])]


def module_stem(state: AgentState) -> str:
    """The stem of the first source file the plan names (`solution` when it names none)."""
    code_files = [f for f in planned_paths(state) if f.endswith((".py", ".js"))] or ["solution"]
    return Path(code_files[0]).stem


def test_path(state: AgentState) -> str:
    """Where the generated test file goes: `test_<module>.py` or `<module>.test.js`."""
    from agent_graph.languages import adapter_for

    return adapter_for(state.get("language")).test_path(module_stem(state))
