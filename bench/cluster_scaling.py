"""Wall time of one 12-problem scripted bench on Ray clusters of 1, 2 and 4 worker nodes on this machine.

    .venv/bin/python bench/cluster_scaling.py [--workers 1 2 4] [--out bench/results/cluster-scaling.json]

Every cluster is `ray.cluster_utils.Cluster`: a head that runs nothing (no cores, no sandbox) and N
worker nodes with one core and one sandbox each, each with a data dir of its own, as separate
machines would have. They share one Postgres server (an embedded pgserver started here, reached by
its URL through DATABASE_URL). The bench is the real command, `agent-graph bench --cluster ADDRESS`,
timed from start to its last line; the model is scripted (fail, reflect, fix: two iterations and
two sandbox test runs per problem where the graph needs them, then the hidden test), so the time is the agent's own: the
graph, the sandbox, the database and the memory, with no model to wait for. The same bench without
`--cluster` (one process, this machine) is timed too, as the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

PLAN = {
    "summary": "volume_cube",
    "subtasks": ["Return l ** 3"],
    "files": [{"path": "volume_cube.py", "purpose": "volume_cube"}],
    "public_api": ["volume_cube(l: int) -> int"],
    "edge_cases": [],
}
BUGGY = "def volume_cube(l):\n    return l * 3\n"
FIXED = "def volume_cube(l):\n    return l ** 3\n"
TESTS = "from volume_cube import volume_cube\n\ndef test_two():\n    assert volume_cube(2) == 8\n"
REFLECTION = {"hypothesis": "It multiplies by 3 instead of cubing.", "fix_plan": ["Return l ** 3"]}
PROMPT = 'def volume_cube(l: int) -> int:\n    """Find the volume of a cube given its side length ({n})."""\n'


def write(path: str, content: str) -> dict[str, Any]:
    return {"args": {"path": path, "content": content}}


def suite(folder: Path, count: int = 12) -> Path:
    """`count` problems one script answers: the same function, each checked on another side length."""
    path = folder / "suite.jsonl"
    with path.open("w") as handle:
        for number in range(count):
            side = number + 2
            test = f"def check(candidate):\n    assert candidate({side}) == {side**3}\n\ncheck(volume_cube)\n"
            row = {
                "task_id": f"cube_{number}",
                "language": "python",
                "prompt": PROMPT.format(n=number),
                "entry_point": "volume_cube",
                "test": test,
            }
            handle.write(json.dumps(row) + "\n")
    return path


def script(folder: Path) -> Path:
    path = folder / "script.json"
    answers = {
        "Plan": [{"args": PLAN}],
        "write_file": [
            write("volume_cube.py", BUGGY),
            write("test_volume_cube.py", TESTS),
            write("volume_cube.py", FIXED),
        ],
        "Reflection": [{"args": REFLECTION}],
    }
    # repeat_last: however many times the graph asks, the last answer is the fixed code (or the tests)
    path.write_text(json.dumps({"script": answers, "repeat_last": True}))
    return path


def timed_bench(command: list[str], out: Path) -> dict[str, Any]:
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"bench failed ({result.returncode}): {result.stderr[-2000:]}")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    per_problem = sorted(r["wall_seconds"] for r in rows)
    return {
        "wall_seconds": round(seconds, 1),
        "problems": summary["problems"],
        "agent_pass_at_1": summary["agent_pass_at_1"],
        "median_problem_seconds": per_problem[len(per_problem) // 2],
        "sum_problem_seconds": round(sum(per_problem), 1),
    }


def on_cluster(workers: int, base: list[str], folder: Path) -> dict[str, Any]:
    from ray.cluster_utils import Cluster

    from agent_graph.cluster import node_resources

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    resources = node_resources(slots=1)
    try:
        for number in range(workers):
            home = folder / f"cluster-{workers}" / f"node-{number}"
            home.mkdir(parents=True)
            os.environ["AGENT_GRAPH_HOME"] = str(home)  # the node's processes inherit it at start
            cluster.add_node(num_cpus=1, resources=resources)
        cluster.wait_for_nodes()
        out = folder / f"results-{workers}.jsonl"
        return timed_bench([*base, "--out", str(out), "--cluster", cluster.address], out)
    finally:
        cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", type=Path, default=Path("bench/results/cluster-scaling.json"))
    parser.add_argument("--no-local", action="store_true", help="Skip the one-process reference.")
    args = parser.parse_args()
    for key, value in {
        "RAY_USAGE_STATS_ENABLED": "0",
        "HF_HUB_OFFLINE": "1",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "AGENT_GRAPH_FIRST_SAMPLES": "1",  # one version per iteration: the script answers once per call
    }.items():
        os.environ[key] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    import ray

    folder = Path(tempfile.mkdtemp(prefix="agent-graph-cluster-bench-", dir="/var/tmp"))
    server = pgserver.get_server(folder / "pgdata", cleanup_mode="stop")
    os.environ["DATABASE_URL"] = str(server.get_uri())
    try:
        problems, answers = suite(folder), script(folder)
        base = [sys.executable, "-m", "agent_graph.cli", "bench", "--suite", str(problems)]
        base += ["--model", f"scripted:{answers}", "--json"]
        runs: dict[str, Any] = {}
        if not args.no_local:
            home = folder / "local"
            home.mkdir()
            os.environ["AGENT_GRAPH_HOME"] = str(home)
            out = folder / "results-local.jsonl"
            # one process answers all 12 problems in turn: the script holds one conversation, so repeat it
            many = folder / "script-local.json"
            spec = json.loads(answers.read_text())
            spec["script"] = {k: v * 12 for k, v in spec["script"].items()}
            many.write_text(json.dumps(spec))
            local = [*base[:-3], "--model", f"scripted:{many}", "--json"]
            runs["local"] = timed_bench([*local, "--out", str(out)], out)
            print("local", runs["local"], flush=True)
        for workers in args.workers:
            runs[f"{workers}_workers"] = on_cluster(workers, base, folder)
            print(workers, runs[f"{workers}_workers"], flush=True)
        one = runs.get(f"{args.workers[0]}_workers", {}).get("wall_seconds")
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout
        report = {
            "what": "12-problem scripted bench (fail, reflect, fix), agent-graph bench --cluster",
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__},
            "commit": commit.strip(),
            "runs": runs,
            "speedup_vs_first": {
                name: round(one / run["wall_seconds"], 2)
                for name, run in runs.items()
                if one and "workers" in name
            },
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
