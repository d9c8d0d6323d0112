"""What shows, under each failing test of a program run as a process, what the program did in it.

Python: the generated `conftest.py` (`program_runs_conftest.py`, read as text: it is pytest's plugin,
never imported by the agent), which the tester adds to the tests of `cli_tool` and `data_pipeline`.
Node: a preload (`program_runs_preload.cjs`) the sandbox adds to every Node test run, outside the
files the agent wrote, and loads with `node --require`. Both title their section `PROGRAM_RUNS`,
which `sandbox.reports` reads back into `TestFailure.program_runs`.
"""

from __future__ import annotations

from pathlib import Path

PROGRAM_RUNS = "program runs"  # the report section's title, as the conftest and the preload write it

# Where the sandbox puts its Node preloads, relative to the workspace: a folder the workspace's own
# copy never brings (transfer.SKIPPED_NAMES), so nothing the agent wrote can take their place.
NODE_PRELOAD_DIR = ".agent-graph"
NODE_PRELOAD = f"{NODE_PRELOAD_DIR}/program-runs.cjs"

_CONFTEST = Path(__file__).with_name("program_runs_conftest.py")
_PRELOAD = Path(__file__).with_name("program_runs_preload.cjs")


def conftest_source() -> str:
    """The conftest's source, to be written as the workspace's `conftest.py`."""
    return _CONFTEST.read_text(encoding="utf-8")


def preload_source() -> str:
    """The Node preload's source, to be added to a Node test run at `NODE_PRELOAD`."""
    return _PRELOAD.read_text(encoding="utf-8")
