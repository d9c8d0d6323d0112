"""What a run leaves for operators: JSON log lines that match their schema, and `stats` figures that
agree with the iterations table. A scripted model (the only fake) drives the real loop."""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.cli import _print_files
from agent_graph.logs import LOG_LINE_SCHEMA, EventLog, open_logger, redact
from agent_graph.memory import history
from tests import scripts
from tests.test_cli import assert_one_sentence_error, cli

SECRET_URL = "postgresql://reporter:hunter2-secret@db.internal/app"


@dataclass
class ObservedRun:
    env: dict[str, str]
    outcome: dict[str, Any]
    stats: dict[str, Any]
    rows: list[dict[str, Any]]
    task: dict[str, Any]
    log: list[str]


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> ObservedRun:
    """One fail-then-pass run through the CLI, in its own data dir; what it left behind."""
    home = tmp_path_factory.mktemp("observed")
    script = home / "script.json"
    script.write_text(json.dumps(scripts.fail_then_pass()))
    started = datetime.now(UTC).isoformat()
    env = {"AGENT_GRAPH_HOME": str(home)}
    goal = f"Write mean(xs); raise ValueError on an empty list; the data is at {SECRET_URL}."
    result = cli("run", "-t", goal, "--model", f"scripted:{script}", "--json", env=env)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    stats = cli("stats", "--json", "--since", started, env=env)
    assert stats.returncode == 0, stats.stderr
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome["task_id"])
        task = history.get_task(conn, outcome["task_id"])
    assert task is not None
    return ObservedRun(
        env=env,
        outcome=outcome,
        stats=json.loads(stats.stdout),
        rows=rows,
        task=task,
        log=(home / "logs" / "agent.log").read_text().splitlines(),
    )


def test_every_log_line_matches_the_schema(scripted_run: ObservedRun) -> None:
    lines = [json.loads(line) for line in scripted_run.log]
    assert lines, "the run wrote no log"
    for line in lines:
        jsonschema.validate(line, LOG_LINE_SCHEMA)
    task_id = scripted_run.outcome["task_id"]
    assert {line["task_id"] for line in lines} == {task_id}
    events = [line["event"] for line in lines]
    assert events[0] == "run_started" and events[-1] == "run_finished"
    tests_done = [line for line in lines if line["event"] == "test_execution_complete"]
    assert [(t["iteration"], t["phase"], t["data"]["status"]) for t in tests_done] == [
        (1, "testing", "failed"),
        (2, "testing", "passed"),
    ]
    assert tests_done[1]["data"]["passed"] == 3 and tests_done[1]["data"]["failed"] == 0
    reflections = [line for line in lines if line["event"] == "reflection"]
    assert reflections[0]["iteration"] == 1 and reflections[0]["phase"] == "reflecting"


def test_no_secret_reaches_the_log(scripted_run: ObservedRun) -> None:
    text = "\n".join(scripted_run.log)
    assert "hunter2-secret" not in text
    assert "postgresql://[redacted]@db.internal/app" in text  # the rest of the goal is kept


def test_stats_agree_with_the_iterations_table(scripted_run: ObservedRun) -> None:
    figures, rows, task = scripted_run.stats, scripted_run.rows, scripted_run.task
    assert figures["tasks"]["total"] == 1 and figures["tasks"]["by_status"] == {"passed": 1}
    assert figures["iterations"]["count"] == len(rows) == 2
    rates = [r["tests_passed"] / (r["tests_passed"] + r["tests_failed"]) for r in rows]
    assert figures["iterations"]["test_pass_rate"]["mean"] == pytest.approx(statistics.fmean(rates), abs=1e-3)
    seconds = [r["duration_seconds"] for r in rows]
    assert figures["iterations"]["seconds"]["mean"] == pytest.approx(statistics.fmean(seconds), abs=1e-3)
    # tokens: the per-phase figures add up to what each iteration row holds, and to the task's total
    by_phase: dict[str, int] = {}
    for row in rows:
        for phase, count in row["tokens_by_phase"].items():
            by_phase[phase] = by_phase.get(phase, 0) + count
    assert {k: v for k, v in figures["tokens"]["by_phase"].items() if v} == by_phase
    assert figures["tokens"]["total"] == task["tokens"] == rows[-1]["tokens"] > 0
    assert set(by_phase) == {"plan", "code", "test", "reflect"}
    assert figures["errors"] == {"AssertionError": 1}  # iteration 1's `assert mean([1, 2, 3]) == 2`


def test_stats_plot_draws_a_png(scripted_run: ObservedRun, tmp_path: Path) -> None:
    target = tmp_path / "figures" / "recent.png"
    result = cli("stats", "--plot", str(target), "--tasks", "3", env=scripted_run.env)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--since", "last tuesday"], "is not a date"), (["--plot", "out.pdf"], "must name a .png")],
)
def test_stats_bad_input_is_exit_2(database_url: str, agent_home: Path, args: list[str], words: str) -> None:
    assert_one_sentence_error(cli("stats", *args), 2, words)


def test_log_rotates_and_every_file_stays_valid(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "agent.log"
    log = EventLog(open_logger(path, max_bytes=2_000, backup_count=2), "rotating")
    for i in range(100):
        log.on_event({"event": "tests", "iteration": i % 5 + 1, "passed": i, "failed": 0, "status": "passed"})
    logging.getLogger("agent_graph.events").handlers[0].flush()
    files = sorted(path.parent.iterdir())
    assert [f.name for f in files] == ["agent.log", "agent.log.1", "agent.log.2"]
    for file in files:
        assert file.stat().st_size <= 2_000
        for line in file.read_text().splitlines():
            jsonschema.validate(json.loads(line), LOG_LINE_SCHEMA)


def test_redaction_masks_keys_and_values_but_not_token_counts() -> None:
    data = {
        "api_key": "anything",
        "tokens": 1200,
        "note": "used sk-abcdefghijklmnop1234 and Bearer abcdefghijklmnop.qrs",
        "nested": [{"password": "p"}],
    }
    assert redact(data) == {
        "api_key": "[redacted]",
        "tokens": 1200,
        "note": "used [redacted] and [redacted]",
        "nested": [{"password": "[redacted]"}],
    }


def test_show_lists_the_final_files_and_exports_them(scripted_run: ObservedRun, tmp_path: Path) -> None:
    task_id = scripted_run.outcome["task_id"]
    target = tmp_path / "exported"
    shown = cli("show", task_id, "--export", str(target), "--json", env=scripted_run.env)
    assert shown.returncode == 0, shown.stderr
    files = json.loads(shown.stdout)["files"]
    assert files["stats.py"] == scripts.FIXED_CODE and "test_stats.py" in files
    assert {p.name: p.read_text() for p in target.iterdir()} == files
    # an export never overwrites: the same folder again is refused, and nothing in it changes
    (target / "stats.py").write_text("# my edits\n")
    again = cli("show", task_id, "--export", str(target), env=scripted_run.env)
    assert_one_sentence_error(again, 2, "is not an empty folder")
    assert (target / "stats.py").read_text() == "# my edits\n"


def test_show_prints_the_code_in_full_and_tests_and_conftest_by_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = {
        "stats.py": "def mean(xs):\n    return sum(xs) / len(xs)\n",
        "test_stats.py": "def test_secret_body():\n    pass\n",
        "conftest.py": "# the generated return-type check\n" * 164,
    }
    _print_files(files, "python")
    out = capsys.readouterr().out
    assert "return sum(xs) / len(xs)" in out
    assert "conftest.py (164 lines)" in out and "test_stats.py (2 lines)" in out
    assert "generated return-type check" not in out and "secret_body" not in out
