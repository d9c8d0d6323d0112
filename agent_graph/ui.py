"""Terminal progress for a run: one line per phase change, test result and reflection."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console


class ConsoleObserver:
    """Prints what the agent is doing; used when stdout is a terminal or progress is wanted."""

    def __init__(self, console: Console, max_iterations: int) -> None:
        self.console = console
        self.max_iterations = max_iterations
        self.started = time.monotonic()

    def _stamp(self) -> str:
        return f"[dim]{time.monotonic() - self.started:6.1f}s[/dim]"

    def on_update(self, node: str, update: dict[str, Any]) -> None:
        if node == "plan" and update.get("plan"):
            plan = update["plan"]
            self.console.print(f"{self._stamp()} [bold]plan[/bold]: {plan.get('summary', '')}")
            for i, step in enumerate(plan.get("subtasks", []), 1):
                self.console.print(f"         {i}. {step}")
            files = ", ".join(f["path"] for f in plan.get("files", []))
            self.console.print(f"         files: {files}")

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        iteration = event.get("iteration", 0)
        where = f"[{iteration}/{self.max_iterations}]" if iteration else ""
        if kind == "phase":
            self.console.print(f"{self._stamp()} {where} {event.get('phase')}…")
        elif kind == "tests":
            color = "green" if event.get("status") == "passed" else "red"
            self.console.print(
                f"{self._stamp()} {where} tests [{color}]{event.get('status')}[/{color}]: "
                f"{event.get('passed', 0)} passed, {event.get('failed', 0)} failed"
            )
        elif kind == "reflection":
            self.console.print(
                f"{self._stamp()} {where} hypothesis: [italic]{event.get('hypothesis', '')}[/italic]"
            )
        elif kind == "safety_blocked":
            self.console.print(
                f"{self._stamp()} {where} [yellow]safety gate blocked {event.get('findings')} finding(s)[/yellow]"
            )
        elif kind == "tests_quarantined":
            names = ", ".join(event.get("tests", []))
            self.console.print(
                f"{self._stamp()} {where} [yellow]set aside generated tests that contradict the goal's examples: {names}[/yellow]"
            )
        elif kind == "circuit_breaker_warning":
            self.console.print(
                f"{self._stamp()} {where} [yellow]circuit breaker warning: changing approach[/yellow]"
            )
