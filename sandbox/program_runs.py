"""The generated `conftest.py` that shows, under each failing test of a Python program run as a
process, what the program did in it (`program_runs_conftest.py`, read as text: it is pytest's
plugin, never imported by the agent)."""

from __future__ import annotations

from pathlib import Path

PROGRAM_RUNS = "program runs"  # the report section's title, as the conftest writes it

_CONFTEST = Path(__file__).with_name("program_runs_conftest.py")


def conftest_source() -> str:
    """The conftest's source, to be written as the workspace's `conftest.py`."""
    return _CONFTEST.read_text(encoding="utf-8")
