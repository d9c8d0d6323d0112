"""The live terminal view, fed by a real (scripted-model) run's stream, and silence when piped."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from agent_graph.context import Context
from agent_graph.models import register_model
from agent_graph.runner import run_task
from agent_graph.testing import ScriptedChatModel
from agent_graph.ui import LiveObserver
from tests import scripts
from tests.test_cli import cli


def test_live_view_follows_the_run(database_url: str, agent_home: Path) -> None:
    register_model("scripted:ui", ScriptedChatModel(script=scripts.fail_then_pass()))
    screen = Console(record=True, force_terminal=True, width=120)
    with LiveObserver(screen, max_iterations=5, title="Write mean(xs)") as live:
        outcome = run_task(
            "Write mean(xs) for a list; raise ValueError on an empty list.",
            "python",
            "library",
            Context(first_samples=1, samples_per_iteration=1, model="scripted:ui"),
            observer=live,
        )
    view = live.view
    assert outcome.status == "passed"
    assert view.finished == "passed" and view.iteration == 2
    assert view.subtasks == scripts.PLAN["subtasks"]
    assert [(r.iteration, r.status) for r in view.rows] == [(1, "failed"), (2, "passed")]
    assert view.rows[0].note == scripts.REFLECTION["hypothesis"] and view.rows[1].passed == 3
    assert view.tokens == outcome.tokens > 0
    shown = screen.export_text()
    assert "iteration 2/5" in shown and "✓ 1. Write mean(xs)" in shown
    assert scripts.REFLECTION["hypothesis"][:40] in shown


def test_circuit_breaker_warning_is_shown(database_url: str, agent_home: Path) -> None:
    register_model("scripted:ui-stuck", ScriptedChatModel(script=scripts.never_fixed()))
    screen = Console(record=True, force_terminal=True, width=120)
    context = Context(
        first_samples=1,
        model="scripted:ui-stuck",
        max_iterations=3,
        warn_iterations=2,
        samples_per_iteration=1,
    )
    with LiveObserver(screen, max_iterations=3) as live:
        outcome = run_task(
            "Write mean(xs); raise ValueError on an empty list.", "python", "library", context, observer=live
        )
    assert outcome.status == "stopped"
    assert "circuit breaker: 2 of 3 iterations used" in screen.export_text()


def test_no_progress_when_stdout_is_not_a_terminal(
    database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(scripts.fail_then_pass()))
    result = cli(
        "run", "-t", "Write mean(xs); raise ValueError on an empty list.", "--model", f"scripted:{script}"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("passed after 2 iteration(s)"), result.stdout


def test_a_run_without_usable_tests_says_which_version_it_kept() -> None:
    screen = Console(record=True, force_terminal=True, width=120)
    with LiveObserver(screen, max_iterations=4) as live:
        live.on_event({"event": "samples_without_tests", "iteration": 1, "agreeing": [1, 2, 2], "chosen": 2})
        live.on_event({"event": "finished", "status": "failed", "iteration": 1})
    assert (
        live.view.rows[0].note == "no usable tests: kept version 2 (2 of 3 versions return the same outputs)"
    )
    assert live.view.finished == "failed"


def test_dropped_tests_are_named_and_a_file_dropped_whole_is_said_so() -> None:
    screen = Console(record=True, force_terminal=True, width=120)
    with LiveObserver(screen, max_iterations=4) as live:
        live.on_event({"event": "tests_dropped", "iteration": 1, "tests": ["test_a", "test_b"]})
        live.on_event({"event": "tests_dropped", "iteration": 2, "tests": [""], "opening": "greet('Ada');"})
    assert live.view.rows[0].note == "dropped tests that cannot be right: test_a, test_b"
    assert live.view.rows[1].note == "dropped a test file with no usable test in it"
