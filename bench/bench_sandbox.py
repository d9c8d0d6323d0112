"""Benchmark: one sandboxed test run of a 5-test pytest suite against bare pytest, side by side.

    .venv/bin/python bench/bench_sandbox.py [--runs 7]

Modes, measured in interleaved rounds so that they share the machine's conditions:
- bare (rootfs): the sandbox's own python3/pytest/hypothesis, run directly (chroot into the
  debootstrap tree, no namespaces, no limits): the sandbox's cost and nothing else. Needs root.
- bare (host): `python -m pytest` of the interpreter running this script (its installed plugins
  included), as a user would run it.
- docker warm: `run_tests` on an already running container (the agent's steady state).
- docker cold: open a sandbox, run, close (container created and removed each time).
- local: `run_tests` in the bubblewrap sandbox.
Each sandboxed time is the full `run_tests` call: copy-in, run, report parsing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agent_graph.sandbox.base import SandboxSettings, SandboxUnavailableError
from agent_graph.sandbox.image import find_rootfs
from agent_graph.sandbox.registry import open_sandbox

SUITE = {
    "calc.py": "def add(a, b):\n    return a + b\n\ndef mean(xs):\n    return sum(xs) / len(xs)\n",
    "test_calc.py": (
        "from hypothesis import given, strategies as st\n"
        "from calc import add, mean\n\n"
        "def test_add():\n    assert add(2, 3) == 5\n\n"
        "def test_add_negative():\n    assert add(-1, 1) == 0\n\n"
        "def test_mean():\n    assert mean([1, 2, 3]) == 2\n\n"
        "def test_mean_single():\n    assert mean([4]) == 4\n\n"
        "@given(st.integers(), st.integers())\n"
        "def test_add_commutes(a, b):\n    assert add(a, b) == add(b, a)\n"
    ),
}
PYTEST_ARGS = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=/tmp/bench-report.xml"]


def write_suite(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in SUITE.items():
        (folder / name).write_text(content)
    return folder


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds (default: %(default)s)")
    args = parser.parse_args()
    settings = SandboxSettings()
    work = Path(tempfile.mkdtemp(prefix="agent-graph-bench-"))
    suite = write_suite(work / "suite")
    modes: dict[str, Callable[[], object]] = {}

    def bare_host() -> None:
        subprocess.run([sys.executable, *PYTEST_ARGS], cwd=suite, check=True, capture_output=True)

    rootfs = find_rootfs()
    chroot_suite: Path | None = None
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    if rootfs is not None and os.geteuid() == 0:
        chroot_suite = write_suite(rootfs / "tmp" / f"bench-{os.getpid()}")
        inside = f"/tmp/{chroot_suite.name}"

        def bare_rootfs() -> None:
            subprocess.run(
                [chroot, str(rootfs), "sh", "-c", f"cd {inside} && python3 " + " ".join(PYTEST_ARGS)],
                check=True,
                capture_output=True,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"},
            )

        modes["bare pytest (rootfs, no sandbox)"] = bare_rootfs
    modes["bare pytest (host venv)"] = bare_host

    opened = []
    try:
        try:
            warm = open_sandbox(SandboxSettings(backend="docker"), "bench-warm")
            opened.append(warm)
            modes["docker warm"] = lambda: _expect_pass(warm.run_tests(suite, "python"))

            def docker_cold() -> None:
                with open_sandbox(SandboxSettings(backend="docker"), "bench-cold") as cold:
                    _expect_pass(cold.run_tests(suite, "python"))

            modes["docker cold"] = docker_cold
        except SandboxUnavailableError as exc:
            print(f"docker: skipped ({exc})")
        try:
            local = open_sandbox(SandboxSettings(backend="local"), "bench-local")
            opened.append(local)
            modes["local"] = lambda: _expect_pass(local.run_tests(suite, "python"))
        except SandboxUnavailableError as exc:
            print(f"local: skipped ({exc})")

        for action in modes.values():  # warm-up: page cache, first container exec, pyc-less imports
            action()
        times: dict[str, list[float]] = {name: [] for name in modes}
        for _ in range(args.runs):
            for name, action in modes.items():
                times[name].append(timed(action))
    finally:
        for sandbox in opened:
            sandbox.close()
        if chroot_suite is not None:
            shutil.rmtree(chroot_suite, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in times.items()}
    baselines = [name for name in medians if name.startswith("bare")]
    header = f"{'mode':36} {'median s':>9} " + " ".join(
        f"{'x ' + b.split('(')[1].rstrip(')'):>16}" for b in baselines
    )
    print(
        f"\n{args.runs} interleaved runs of a 5-test pytest suite (one hypothesis test), {settings.cpus:g} CPU limit"
    )
    print(header)
    print("-" * len(header))
    for name, median in medians.items():
        ratios = " ".join(f"{median / medians[b]:>16.2f}" for b in baselines)
        print(f"{name:36} {median:>9.3f} {ratios}")
    return 0


def _expect_pass(report: object) -> None:
    status = getattr(report, "status", None)
    if status != "passed":
        raise SystemExit(f"benchmark suite did not pass in the sandbox: {report}")


if __name__ == "__main__":
    raise SystemExit(main())
