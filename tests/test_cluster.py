"""Runs and benchmarks on a real Ray cluster (several Ray nodes on this machine) sharing one Postgres.

The shared database is the session's Postgres server (tests/conftest.py), reached by its URL
through DATABASE_URL: a server every node reaches, which is what cluster mode asks of a user's
configuration (the embedded default, started by each machine for itself, is refused). Each
worker node gets a data dir of its own (AGENT_GRAPH_HOME), as separate machines would have, so
a task's workspace tells which node ran it. Only the chat model is scripted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.context import Context
from agent_graph.errors import UserInputError
from agent_graph.memory import history
from agent_graph.memory.store import StoreKind, list_collections
from tests import scripts
from tests.test_bench import PLAN as CUBE_PLAN
from tests.test_bench import PROBLEM as CUBE_PROBLEM
from tests.test_bench import TESTS as CUBE_TESTS
from tests.test_cli import assert_one_sentence_error, cli

ray = pytest.importorskip("ray", reason="the cluster extra (agent-graph[cluster]) is not installed")
from ray.cluster_utils import Cluster  # noqa: E402

from agent_graph import cluster as cluster_module  # noqa: E402

WORKERS = 2


class Recorder:
    """An observer that keeps what the run's node relayed."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.updates: list[str] = []

    def on_update(self, node: str, update: dict[str, Any]) -> None:
        self.updates.append(node)

    def on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def placements(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "cluster_node"]


def _add_worker(cluster: Cluster, home: Path) -> Any:
    """A worker node with one core and, where the sandbox doctor passes, one sandbox. Its processes
    inherit AGENT_GRAPH_HOME at start, so the node keeps its workspaces apart like another machine."""
    home.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("AGENT_GRAPH_HOME")
    os.environ["AGENT_GRAPH_HOME"] = str(home)
    try:
        return cluster.add_node(num_cpus=1, resources=cluster_module.node_resources(slots=1))
    finally:
        if previous is None:
            os.environ.pop("AGENT_GRAPH_HOME", None)
        else:
            os.environ["AGENT_GRAPH_HOME"] = previous


@pytest.fixture(scope="module")
def ray_cluster(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A head that runs nothing (no cores, no sandbox) and two workers, torn down after the module."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    homes = tmp_path_factory.mktemp("nodes")
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "include_dashboard": False},
    )
    try:
        for number in range(WORKERS):
            _add_worker(cluster, homes / f"node-{number}")
        cluster.wait_for_nodes()
        cluster.homes = homes  # type: ignore[attr-defined]  # where later replacement nodes live
        yield cluster
    finally:
        cluster.shutdown()


def _one_version(tmp_path: Path) -> list[str]:
    """`--config` of a settings file asking one version per iteration: a scripted model answers each
    call once (`first_samples` is already 1 in the tests' environment, see conftest.py)."""
    settings = tmp_path / "settings.yaml"
    settings.write_text("loop:\n  samples_per_iteration: 1\n")
    return ["--config", str(settings)]


def _script(tmp_path: Path, script: dict[str, Any]) -> Path:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return path


def test_without_cluster_ray_is_never_imported(database_url: str, agent_home: Path, tmp_path: Path) -> None:
    script = _script(tmp_path, scripts.fail_then_pass())
    code = (
        "import sys\n"
        "import agent_graph.cli as cli\n"
        "try:\n"
        "    print('exit', cli.app(sys.argv[1:], standalone_mode=False))\n"
        "except BaseException as exc:\n"
        "    print('exit', getattr(exc, 'exit_code', repr(exc)))\n"
        "print('ray loaded' if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) else 'no ray')\n"
    )
    goal = f"Write mean(xs) ({tmp_path.name}); raise ValueError on an empty list."
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            *_one_version(tmp_path),
            "run",
            "-t",
            goal,
            "--model",
            f"scripted:{script}",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "no ray", result.stdout + result.stderr
    assert len(lines) >= 3 and lines[-2] == "exit 0", result.stdout + result.stderr  # the run went green
    assert json.loads(lines[-3])["status"] == "passed"


def test_cluster_mode_refuses_the_embedded_database(agent_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "agent_graph.cli", "run", "-t", "x", "--cluster", "127.0.0.1:6379"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert_one_sentence_error(result, 2, "DATABASE_URL")


def test_an_address_that_does_not_answer_is_exit_3(database_url: str, agent_home: Path) -> None:
    result = cli("run", "-t", "x", "--cluster", "127.0.0.1:9", timeout=120)
    assert_one_sentence_error(result, 3, "no Ray cluster answers at 127.0.0.1:9")
    malformed = cli("bench", "--suite", "/nonexistent.jsonl", "--cluster", "head-without-port", timeout=120)
    assert malformed.returncode == 2  # the suite is read first: a bad suite is exit 2 either way
    bad = cli("run", "-t", "x", "--cluster", "head-without-port", timeout=120)
    assert_one_sentence_error(bad, 2, "is not a Ray address")


def test_a_run_on_the_cluster_goes_green(
    ray_cluster: Cluster, database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    script = _script(tmp_path, scripts.fail_then_pass())
    goal = f"Write mean(xs) ({tmp_path.name}); raise ValueError on an empty list."
    result = cli(
        *_one_version(tmp_path),
        "run",
        *("-t", goal, "--model", f"scripted:{script}", "--json", "--cluster", ray_cluster.address),
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "passed" and outcome["iterations"] == 2
    # It ran on a worker node: its workspace is in that node's data dir, not this process's.
    homes: Path = ray_cluster.homes  # type: ignore[attr-defined]
    assert Path(outcome["workspace"]).is_relative_to(homes), outcome["workspace"]
    assert not Path(outcome["workspace"]).is_relative_to(agent_home)
    with connection(database_url) as conn:
        task = history.get_task(conn, outcome["task_id"])
        iterations = history.get_iterations(conn, outcome["task_id"])
    assert task is not None and task["status"] == "passed"
    assert [(r["iteration"], r["status"]) for r in iterations] == [(1, "failed"), (2, "passed")]


def test_a_bench_of_12_problems_spreads_over_the_nodes(
    ray_cluster: Cluster, database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    suite = tmp_path / "suite.jsonl"
    with suite.open("w") as handle:
        for number in range(12):  # one script answers them all: the same function, checked differently
            side = number + 2
            test = f"def check(candidate):\n    assert candidate({side}) == {side**3}\n\ncheck(volume_cube)\n"
            handle.write(json.dumps({**CUBE_PROBLEM, "task_id": f"cube_{number}", "test": test}) + "\n")
    code = "def volume_cube(l):\n    return l ** 3\n"
    script = _script(
        tmp_path,
        {
            "Plan": [{"args": CUBE_PLAN}],
            "write_file": [
                scripts.write("volume_cube.py", code),
                scripts.write("test_volume_cube.py", CUBE_TESTS),
            ],
        },
    )
    out = tmp_path / "results.jsonl"
    command = ["bench", "--suite", str(suite), "--model", f"scripted:{script}", "--out", str(out)]
    result = cli(*command, "--json", "--cluster", ray_cluster.address, timeout=900)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["problems"] == 12 and summary["agent_pass_at_1"] == 1.0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["task_id"] for r in rows) == sorted(f"cube_{n}" for n in range(12))
    with connection(database_url) as conn:
        workspaces = [
            conn.execute("SELECT workspace FROM tasks WHERE task_id = %s", (r["agent_task"],)).fetchone()
            for r in rows
        ]
    nodes = {Path(w["workspace"]).relative_to(ray_cluster.homes).parts[0] for w in workspaces if w}  # type: ignore[attr-defined]
    assert len(nodes) == WORKERS, nodes  # every worker took some

    # Resumable: finished problems are not run again.
    again = cli(*command, "--json", "--cluster", ray_cluster.address, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(out.read_text().splitlines()) == 12


def _memory_rows(conn: Any, kind: StoreKind, task_id: str, by: str | None = None) -> list[tuple[Any, int]]:
    """How many rows the memory holds for the task, in every collection of `kind` (grouped by `by`)."""
    from psycopg import sql

    group = sql.Identifier(by) if by else sql.SQL("NULL")
    counts: dict[Any, int] = {}
    for info in list_collections(conn, kind):
        query = sql.SQL("SELECT {g} AS key, count(*) AS n FROM {t} WHERE task_id = %s GROUP BY 1").format(
            g=group, t=sql.Identifier(info.table)
        )
        for row in conn.execute(query, (task_id,)).fetchall():
            counts[row["key"]] = counts.get(row["key"], 0) + row["n"]
    return sorted(counts.items(), key=lambda item: str(item[0]))


def _logged_events(homes: Path, task_id: str) -> list[str]:
    """The events every node's JSON log recorded for `task_id`, node by node."""
    events = []
    for log in sorted(homes.glob("*/logs/agent.log*")):
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            if entry["task_id"] == task_id:
                events.append(entry["event"])
    return events


def _iteration_rows(url: str, task_id: str) -> list[dict[str, Any]]:
    with connection(url) as conn:
        return history.get_iterations(conn, task_id)


def test_killing_the_node_that_holds_a_run_loses_nothing(
    ray_cluster: Cluster, database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    planned = scripts.fail_then_pass()
    planned["write_file"][2]["delay"] = 90  # iteration 2's code: the node dies while the model thinks
    script = _script(tmp_path, planned)
    goal = f"Write mean(xs) ({tmp_path.name}); raise ValueError on an empty list."
    context = Context(first_samples=1, samples_per_iteration=1, model=f"scripted:{script}")
    recorder = Recorder()
    outcome: dict[str, Any] = {}
    with cluster_module.session(ray_cluster.address):
        handle = cluster_module.submit_run(goal, "python", "library", context)

        def follow() -> None:
            try:
                outcome["value"] = handle.follow(recorder)
            except BaseException as exc:
                outcome["error"] = exc

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        deadline = time.monotonic() + 240
        while len(_iteration_rows(database_url, handle.task_id)) < 1 or not recorder.placements():
            assert time.monotonic() < deadline and follower.is_alive(), outcome
            time.sleep(0.5)
        time.sleep(3)  # reflect runs, then iteration 2's coder waits on the model
        before = _iteration_rows(database_url, handle.task_id)
        assert [(r["iteration"], r["status"]) for r in before] == [(1, "failed")]
        # The retry's process loads the script afresh: it answers the rest of the conversation.
        script.write_text(json.dumps({"write_file": [scripts.write("stats.py", scripts.FIXED_CODE)]}))
        first = recorder.placements()[0]
        (doomed,) = [n for n in ray_cluster.worker_nodes if n.node_id == first["node_id"]]
        ray_cluster.remove_node(doomed, allow_graceful=False)
        follower.join(timeout=300)
    _add_worker(ray_cluster, ray_cluster.homes / f"node-replacing-{first['node_id'][:8]}")  # type: ignore[attr-defined]

    assert "error" not in outcome, outcome.get("error")
    result = outcome["value"]
    assert result.status == "passed" and result.iterations == 2 and result.task_id == handle.task_id
    # Started once and resumed once, from its checkpoint: what the nodes' own logs recorded.
    events = _logged_events(ray_cluster.homes, handle.task_id)  # type: ignore[attr-defined]
    assert events.count("run_started") == 1 and events.count("run_resumed") == 1, events
    # The live view relayed the same, as far as it got: the relay is best effort (a lost event never
    # stops a run), and the retry's first events can meet a cluster still settling after the loss.
    placements = recorder.placements()
    assert placements[0]["resumed"] is False and all(p["resumed"] for p in placements[1:])
    assert all(p["node_id"] != first["node_id"] for p in placements[1:])
    assert {p["task_id"] for p in placements} == {handle.task_id}
    after = _iteration_rows(database_url, handle.task_id)
    assert [(r["iteration"], r["status"]) for r in after] == [(1, "failed"), (2, "passed")]
    assert after[0]["created_at"] == before[0]["created_at"]  # the row from before the loss, untouched
    with connection(database_url) as conn:
        tasks = conn.execute("SELECT count(*) AS n FROM tasks WHERE goal = %s", (goal,)).fetchone()
        iterations = conn.execute(
            "SELECT count(*) AS n FROM iterations WHERE task_id = %s", (handle.task_id,)
        ).fetchone()
        failures = _memory_rows(conn, "failures", handle.task_id, "iteration")
        patterns = _memory_rows(conn, "patterns", handle.task_id)
    assert tasks is not None and tasks["n"] == 1  # the history shows one task
    assert iterations is not None and iterations["n"] == 2
    assert failures == [(1, 1)]  # iteration 1's failure, remembered once
    assert patterns == [(None, 1)]  # the solved task, remembered once


def test_a_worker_joins_offering_a_sandbox_only_where_the_doctor_passes() -> None:
    doctor = cli("sandbox", "doctor", "--json", timeout=120)
    command = cluster_module.join_command("10.0.0.5:6379", slots=1)
    assert command[1:3] == ["start", "--address=10.0.0.5:6379"] and "--disable-usage-stats" in command
    offered = json.loads(command[3].removeprefix("--resources="))
    assert offered == ({"sandbox": 1.0} if doctor.returncode == 0 else {})
    with pytest.raises(UserInputError, match="is not a Ray address"):
        cluster_module.join_command("10.0.0.5", slots=1)
