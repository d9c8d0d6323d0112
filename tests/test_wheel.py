"""`from agent_graph import graph` after a plain install: the wheel, its core dependencies, no extras.

The install is selected with `-m wheel` (a few minutes); the check in the project venv is quick. The wheel is built from the tree's files (tracked and new, not ignored) in a
copy, so no build output lands in the checkout; a fresh venv then installs it with pip, which resolves
the core dependencies pinned to the versions of the project's venv (as a constraints file: the tested
versions, and hits in pip's cache). The graph must import and compile there, and no optional package
may be installed or imported by it. Needs pip to reach its index (or a cache that has every pin).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The extras' import names (local, embeddings, safety, cluster) and the heaviest of what they pull in.
OPTIONAL = (
    "llama_cpp",
    "sentence_transformers",
    "bandit",
    "esprima",
    "ray",
    "torch",
    "transformers",
)

PROBE = f"""
import importlib.util, json, sys
optional = {OPTIONAL!r}
installed = [name for name in optional if importlib.util.find_spec(name) is not None]
import agent_graph
from agent_graph import graph
graph.get_graph()
imported = sorted(name for name in sys.modules if name.split(".")[0] in optional)
from agent_graph.sandbox.runners import runner_files
from agent_graph.sandbox.program_runs import conftest_source
read = {{"node": len(runner_files("node")), "conftest": len(conftest_source())}}
print(json.dumps({{"file": agent_graph.__file__, "installed": installed, "imported": imported, "read": read}}))
"""


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result.stdout


def source_copy(target: Path) -> Path:
    """The files git would see (tracked and new, not ignored), copied to `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted in the tree but still in the index is skipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def constraints(target: Path) -> Path:
    """The project venv's versions (`name==version` lines only) as a pip constraints file."""
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pins = [line for line in frozen.splitlines() if re.match(r"^[A-Za-z0-9._-]+==\S+$", line)]
    pins = [line for line in pins if not line.lower().startswith(("agent-graph==", "agent_graph=="))]
    target.write_text("\n".join(pins) + "\n", encoding="utf-8")
    return target


@pytest.mark.wheel
def test_plain_install_imports_and_compiles_the_graph(tmp_path: Path) -> None:
    started = time.monotonic()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONNOUSERSITE": "1",
    }
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)

    source = source_copy(tmp_path / "src")
    wheels = tmp_path / "wheels"
    # The project venv's setuptools builds it (no isolated build env to download).
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ],
        tmp_path,
        env,
        600,
    )
    (wheel,) = wheels.glob("agent_graph-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, env, 300)
    python = venv / "bin" / "python"
    pins = constraints(tmp_path / "constraints.txt")
    run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--find-links",
            str(wheels),
            "-c",
            str(pins),
            str(wheel),
        ],
        tmp_path,
        env,
        1500,
    )
    installed_at = time.monotonic()

    report = json.loads(run([str(python), "-c", PROBE], tmp_path, env, 300).strip().splitlines()[-1])
    assert Path(report["file"]).is_relative_to(venv), report["file"]  # the wheel's copy, not the checkout
    assert report["installed"] == [], f"extras' packages installed by a plain install: {report['installed']}"
    assert report["imported"] == [], f"optional packages imported by the graph: {report['imported']}"
    assert report["read"]["node"] == 2 and report["read"]["conftest"] > 0, report["read"]  # its data files
    print(
        f"wheel test: build and install {installed_at - started:.0f} s, "
        f"import and compile {time.monotonic() - installed_at:.0f} s"
    )
    shutil.rmtree(venv, ignore_errors=True)  # 450 MB; kept only when the test fails


def test_graph_imports_no_optional_package() -> None:
    """In the project's venv, where the extras are installed, building the graph still loads none of them."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
    }
    report = json.loads(run([sys.executable, "-c", PROBE], ROOT, env, 300).strip().splitlines()[-1])
    assert report["imported"] == [], f"optional packages imported by the graph: {report['imported']}"
    assert report["read"]["node"] == 2 and report["read"]["conftest"] > 0, report["read"]  # its data files
