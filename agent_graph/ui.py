"""The live terminal view of a run: phase, iteration k/max, the plan's subtasks, tests per iteration,
the reflector's hypothesis, tokens, elapsed time and the circuit-breaker warning.

It is redrawn in place (rich `Live`) from the graph's stream: node updates and the custom events the
nodes emit. Only used when stdout is a terminal; `--json` and pipes get no progress at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import Progress, TaskID
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

# What the phases are called on screen.
PHASE_LABELS = {
    "planning": "planning",
    "coding": "writing code",
    "safety": "safety scan",
    "writing_tests": "writing tests",
    "choosing": "choosing a version",
    "testing": "running tests",
    "reflecting": "reflecting",
}


@dataclass
class IterationRow:
    iteration: int
    status: str = "running"
    passed: int = 0
    failed: int = 0
    note: str = ""  # the hypothesis, or why the safety gate blocked


@dataclass
class RunView:
    """What the screen shows, built up from the stream; rendering is a pure function of it."""

    max_iterations: int
    title: str = ""
    phase: str = "starting"
    iteration: int = 0
    subtasks: list[str] = field(default_factory=list)
    code_written: bool = False
    finished: str = ""  # the final status, once known
    tokens: int = 0
    warning: str = ""
    rows: list[IterationRow] = field(default_factory=list)

    def row(self, iteration: int) -> IterationRow:
        if not self.rows or self.rows[-1].iteration != iteration:
            self.rows.append(IterationRow(iteration))
        return self.rows[-1]

    def subtask_mark(self) -> str:
        # The plan's steps are not tracked one by one: they are written together and proven together.
        if self.finished == "passed":
            return "[green]✓[/green]"
        return "[yellow]◐[/yellow]" if self.code_written else "[dim]○[/dim]"


def render(view: RunView, elapsed: float) -> RenderableType:
    parts: list[RenderableType] = []
    if view.title:
        parts.append(Text(view.title, style="bold", overflow="ellipsis", no_wrap=True))
    where = f"iteration {view.iteration}/{view.max_iterations}" if view.iteration else "before iteration 1"
    status = (
        f"{PHASE_LABELS.get(view.phase, view.phase)} · {where} · {view.tokens:,} tokens · {elapsed:,.0f}s"
    )
    if view.finished:
        parts.append(Text(f"{view.finished} · {where} · {view.tokens:,} tokens · {elapsed:,.0f}s"))
    else:
        parts.append(Spinner("dots", text=status))
    if view.subtasks:
        plan = Table.grid(padding=(0, 1))
        for number, step in enumerate(view.subtasks, 1):
            plan.add_row(view.subtask_mark(), f"{number}.", step)
        parts.append(plan)
    if view.rows:
        table = Table("iter", "tests", "passed", "failed", "hypothesis", expand=False, box=None)
        for row in view.rows[-8:]:  # the recent ones: a long run must not scroll the screen away
            color = {"passed": "green", "running": "cyan", "blocked": "yellow"}.get(row.status, "red")
            table.add_row(
                str(row.iteration),
                f"[{color}]{row.status}[/{color}]",
                str(row.passed),
                str(row.failed),
                Text(row.note, overflow="ellipsis", no_wrap=True),
            )
        parts.append(table)
    if view.warning:
        parts.append(Text(view.warning, style="bold yellow"))
    return Group(*parts)


class LiveObserver:
    """Feeds a `RunView` from the run's stream and keeps it on screen while the run lasts."""

    def __init__(self, console: Console, max_iterations: int, title: str = "") -> None:
        self.view = RunView(max_iterations=max_iterations, title=title)
        self.started = time.monotonic()
        self.live = Live(console=console, refresh_per_second=4, transient=False, get_renderable=self._render)

    def _render(self) -> RenderableType:
        return render(self.view, time.monotonic() - self.started)

    def __enter__(self) -> LiveObserver:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop redrawing while the user answers a question at the terminal."""
        self.live.stop()
        try:
            yield
        finally:
            self.live.start()

    def on_update(self, node: str, update: dict[str, Any]) -> None:
        view = self.view
        view.tokens += sum((update.get("tokens") or {}).values())
        if node == "plan" and update.get("plan"):
            view.subtasks = list(update["plan"].get("subtasks", []))
        elif node == "select" and update.get("files"):
            view.code_written = True
        elif node == "finish" and update.get("status"):
            view.finished = str(update["status"])

    def on_event(self, event: dict[str, Any]) -> None:
        view = self.view
        kind = event.get("event")
        iteration = int(event.get("iteration") or 0)
        if iteration:
            view.iteration = iteration
        if kind == "phase":
            view.phase = str(event.get("phase"))
            if iteration:
                view.row(iteration)
        elif kind == "tests":
            row = view.row(iteration)
            row.status = str(event.get("status"))
            row.passed, row.failed = int(event.get("passed", 0)), int(event.get("failed", 0))
        elif kind == "reflection":
            view.row(iteration).note = str(event.get("hypothesis", ""))
        elif kind == "safety_blocked":
            row = view.row(iteration)
            row.status, row.note = "blocked", f"safety gate: {event.get('findings')} finding(s)"
        elif kind == "tests_quarantined":
            # Tests that two versions failed the same way, or that every first version failed.
            view.row(iteration).note = "set aside doubtful tests: " + ", ".join(event.get("tests", []))
        elif kind == "tests_dropped":
            named = [str(test) for test in event.get("tests", []) if test]
            view.row(iteration).note = (
                "dropped tests that cannot be right: " + ", ".join(named)
                if named
                else "dropped a test file with no usable test in it"
            )
        elif kind == "samples":
            counts = ", ".join("blocked" if n is None else str(n) for n in event.get("passed", []))
            view.row(iteration).note = f"kept version {event.get('chosen')} (tests passed: {counts})"
        elif kind == "samples_without_tests":
            chosen = int(event.get("chosen") or 0)
            agreeing = event.get("agreeing", [])
            same = agreeing[chosen - 1] if 0 < chosen <= len(agreeing) else "?"
            outputs = f"{same} of {len(agreeing)} versions return the same outputs"
            view.row(iteration).note = f"no usable tests: kept version {chosen} ({outputs})"
        elif kind == "circuit_breaker_warning":
            view.warning = (
                f"circuit breaker: {iteration} of {event.get('limit', view.max_iterations)} iterations used; "
                "the reflector must change approach"
            )
        elif kind == "finished":
            view.finished = str(event.get("status"))


class BenchObserver:
    """Shows the current problem's phase and iteration in the bench's progress bar."""

    def __init__(self, progress: Progress, bar: TaskID, max_iterations: int) -> None:
        self.progress, self.bar, self.max_iterations = progress, bar, max_iterations
        self.tokens = 0

    def on_update(self, node: str, update: dict[str, Any]) -> None:
        if node == "plan":
            self.tokens = 0  # a new problem starts with its plan
        self.tokens += sum((update.get("tokens") or {}).values())

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") != "phase":
            return
        phase = PHASE_LABELS.get(str(event.get("phase")), str(event.get("phase")))
        iteration = event.get("iteration") or 0
        where = f" {iteration}/{self.max_iterations}" if iteration else ""
        self.progress.update(self.bar, description=f"{phase}{where} · {self.tokens:,} tok")
