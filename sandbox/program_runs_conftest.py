"""Written into the workspace of a Python program whose tests run it (`cli_tool`, `data_pipeline`) as
`conftest.py`: under each failing test, what the program did in it.

A failed assertion shows the value it compared (`assert '' == 'value1'`), not the runs that led to it:
that `get key1` exited 0 with nothing on stdout and "Key key1 not found" on stderr, right after `set
key1 value1` succeeded. Those runs are what a person reads first, and what the reflector needs to
name the failing behaviour rather than guess at the test. Every `subprocess.run` a test makes ends in
a `CompletedProcess`; this file records each one made during a test and, when the test fails, adds
them to its report under `PROGRAM_RUNS` (`sandbox.reports` reads the section back). It starts no
process and imports nothing but the standard library and pytest, so the safety gate lets it run.

The agent never imports this file (pytest is not among its dependencies): `sandbox.program_runs`
reads its text. Loaded by pytest as a plugin, it starts recording in `pytest_configure`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator
from typing import Any

import pytest

PROGRAM_RUNS = "program runs"  # the report section's title (the same in sandbox.program_runs)
SHOWN_RUNS = 4  # the last runs of a failing test
SHOWN_OUTPUT = 200  # characters of each stream

_runs: list[subprocess.CompletedProcess[Any]] = []
_finished = subprocess.CompletedProcess.__init__


def _recorded(self: subprocess.CompletedProcess[Any], *args: Any, **kwargs: Any) -> None:
    _finished(self, *args, **kwargs)
    _runs.append(self)


def pytest_configure(config: pytest.Config) -> None:
    subprocess.CompletedProcess.__init__ = _recorded  # type: ignore[method-assign]


def _stream(value: object, end: bool = False) -> str:
    """A stream's start, or with `end` its end: an error ends stderr (a traceback's last line)."""
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")
    if len(text) <= SHOWN_OUTPUT:
        return repr(text)
    return repr("..." + text[-SHOWN_OUTPUT:] if end else text[:SHOWN_OUTPUT] + "...")


def _described(run: subprocess.CompletedProcess[Any]) -> str:
    """`kv.py get key1 -> exit 0, stdout '', stderr 'Key key1 not found\\n'` (the interpreter left out)."""
    words = [str(a) for a in run.args] if isinstance(run.args, list | tuple) else [str(run.args)]
    if len(words) > 1 and os.path.basename(words[0]).startswith(("python", "node")):
        words = [os.path.basename(words[1]), *words[2:]]
    return f"{' '.join(words)} -> exit {run.returncode}, stdout {_stream(run.stdout)}, stderr {_stream(run.stderr, end=True)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    if call.when == "setup":
        _runs.clear()
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and _runs and hasattr(report.longrepr, "addsection"):
        report.longrepr.addsection(PROGRAM_RUNS, "\n".join(_described(r) for r in _runs[-SHOWN_RUNS:]))
