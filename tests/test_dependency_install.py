"""Approved packages: installed on the host into the task's folder, mounted read-only into offline runs.

`toolz` is a small pure-Python wheel that pip finds through the machine's ordinary configuration
and that the sandbox image does not have, so whether a test can import it says whether the
install step and the mount work. Everything is real: pip (and npm), both sandbox backends, the
database and the graph; only the chat model is scripted.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.context import Context
from agent_graph.memory import history
from agent_graph.models import register_model
from agent_graph.paths import dependencies_dir
from agent_graph.runner import run_task
from agent_graph.sandbox.base import Sandbox, SandboxSettings
from agent_graph.sandbox.dependency_install import (
    DependencyInstallError,
    Requirement,
    TargetPython,
    install,
    installed,
    installer_env,
    needs_install,
    probe_python,
)
from agent_graph.testing import ScriptedChatModel
from tests.sandbox_support import BACKENDS, NETWORK_PROBE, TEST_SETTINGS, open_or_skip, probe, write_files
from tests.scripts import approving, write

PACKAGE = "toolz"
IMPORTS_IT = "import toolz\n\n\ndef test_unique():\n    assert list(toolz.unique([3, 1, 3])) == [3, 1]\n"


def _searchable_dir(prefix: str) -> Path:
    """A folder every uid may enter: as root, the local backend binds the dependency folder as the
    unprivileged sandbox user, and pytest's own tmp_path sits under a private folder."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def deps_root() -> Iterator[Path]:
    root = _searchable_dir("agent-graph-deps-test-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _open(backend: str, folder: Path, task_id: str) -> Sandbox:
    return open_or_skip(
        backend, task_id, SandboxSettings(**{**TEST_SETTINGS.__dict__, "dependencies_dir": str(folder)})
    )


@pytest.fixture(scope="module", params=BACKENDS)
def with_toolz(request: pytest.FixtureRequest, deps_root: Path) -> Iterator[tuple[Sandbox, Path]]:
    """A sandbox whose (bound) dependency folder received toolz after the sandbox was opened."""
    folder = deps_root / f"toolz-{request.param}"
    folder.mkdir()
    sandbox = _open(request.param, folder, f"deps-{request.param}")
    try:
        target, provided = probe_python(sandbox, [PACKAGE])
        assert PACKAGE not in provided, "the sandbox image has toolz: these tests would prove nothing"
        assert install(folder, "python", [Requirement("python", PACKAGE)], target=target) == [PACKAGE]
        yield sandbox, folder
    finally:
        sandbox.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder


# --------------------------------------------------------------------------- in the sandbox


def test_an_installed_package_is_importable_by_the_tests(
    with_toolz: tuple[Sandbox, Path], workspace: Path
) -> None:
    sandbox, _ = with_toolz
    report = sandbox.run_tests(write_files(workspace, {"test_uses_toolz.py": IMPORTS_IT}), "python")
    assert (report.status, report.passed) == ("passed", 1), report.output


def test_a_package_the_task_s_own_folder_holds_is_not_counted_as_the_image_s(
    with_toolz: tuple[Sandbox, Path],
) -> None:
    """The probe asks what the image provides; the task's folder is replaced by the next install,
    so a package found only there must be installed again with the rest, not dropped."""
    sandbox, _ = with_toolz
    _, provided = probe_python(sandbox, [PACKAGE])
    assert PACKAGE not in provided


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_the_install_the_package_is_not_there(backend: str, deps_root: Path, workspace: Path) -> None:
    empty = deps_root / f"empty-{backend}"
    empty.mkdir(exist_ok=True)
    with _open(backend, empty, f"nodeps-{backend}") as sandbox:
        report = sandbox.run_tests(write_files(workspace, {"test_uses_toolz.py": IMPORTS_IT}), "python")
    assert report.status in ("failed", "error") and report.passed == 0
    assert "No module named 'toolz'" in report.output + "".join(f.message for f in report.failures)


def test_a_run_with_packages_still_has_no_network(with_toolz: tuple[Sandbox, Path], workspace: Path) -> None:
    sandbox, _ = with_toolz
    result, seen = probe(sandbox, workspace, NETWORK_PROBE)
    assert result.exit_code == 0, result.stderr
    assert seen["ifaces"] == ["lo"]
    assert seen["routes"] == [] and seen["v6_default"] == []


def test_the_dependency_folder_is_read_only_to_sandboxed_code(
    with_toolz: tuple[Sandbox, Path], workspace: Path
) -> None:
    sandbox, folder = with_toolz
    before = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    result, seen = probe(
        sandbox,
        workspace,
        """
import json, os, shutil
import toolz
tries = {
    "overwrite": lambda: open(toolz.__file__, "w").write("raise SystemExit"),
    "create": lambda: open("/opt/python/evil.py", "w").write("x = 1"),
    "remove": lambda: os.remove(toolz.__file__),
    "rmtree": lambda: shutil.rmtree("/opt/python/toolz"),
    "rename": lambda: os.rename("/opt/python", "/opt/gone"),
    "chmod": lambda: os.chmod("/opt/python", 0o777),
    "manifest": lambda: open("/opt/installed.json", "a").write("{}"),
}
done = []
for name, attempt in tries.items():
    try:
        attempt()
        done.append(name)
    except OSError:
        pass
print(json.dumps({"done": done, "file": toolz.__file__}))
""",
    )
    assert result.exit_code == 0, result.stderr
    assert seen == {"done": [], "file": "/opt/python/toolz/__init__.py"}
    after = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert after == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_npm_package_is_found_by_require(backend: str, deps_root: Path, workspace: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed here")
    folder = deps_root / f"node-{backend}"
    assert install(folder, "node", [Requirement("node", "is-number", "7.0.0")]) == ["is-number@7.0.0"]
    assert (folder / "node" / "node_modules" / "is-number" / "package.json").is_file()
    test = (
        "const test = require('node:test');\nconst assert = require('node:assert');\n"
        "const isNumber = require('is-number');\n"
        "test('is-number', () => { assert.strictEqual(isNumber('5'), true); });\n"
    )
    with _open(backend, folder, f"node-{backend}") as sandbox:
        report = sandbox.run_tests(write_files(workspace, {"uses.test.js": test}), "node")
    assert (report.status, report.passed) == ("passed", 1), report.output


# --------------------------------------------------------------------------- the installer


def test_installing_the_same_set_again_does_nothing(deps_root: Path) -> None:
    folder = deps_root / "again"
    wanted = [Requirement("python", PACKAGE)]
    install(folder, "python", wanted)
    inode = (folder / "python").stat().st_ino
    assert not needs_install(folder, "python", wanted)
    assert install(folder, "python", wanted) == [PACKAGE]
    assert (folder / "python").stat().st_ino == inode  # not reinstalled
    assert installed(folder) == [f"python:{PACKAGE}"]
    install(folder, "python", [])  # the code no longer uses it
    assert not (folder / "python").exists() and installed(folder) == []


def test_a_package_the_image_has_is_not_installed_again(deps_root: Path) -> None:
    folder = deps_root / "provided"
    result = install(folder, "python", [Requirement("python", "attrs")], provided={"attrs"})
    assert result == [] and not (folder / "python").exists()
    assert not needs_install(folder, "python", [Requirement("python", "attrs")])


def test_a_failed_install_is_one_sentence_and_leaves_the_folder_as_it_was(deps_root: Path) -> None:
    folder = deps_root / "fails"
    install(folder, "python", [Requirement("python", PACKAGE)])
    with pytest.raises(DependencyInstallError) as caught:
        install(folder, "python", [Requirement("python", PACKAGE, "==0.0.0.1")])
    message = str(caught.value)
    assert message.startswith("pip could not install toolz==0.0.0.1") and message.count("\n") == 0
    assert message.endswith("or write the code without them.")
    assert installed(folder) == [f"python:{PACKAGE}"] and (folder / "python" / "toolz").is_dir()
    assert not any((deps_root / ".staging").iterdir())


def test_an_install_that_takes_too_long_is_stopped(deps_root: Path) -> None:
    folder = deps_root / "slow"
    with pytest.raises(DependencyInstallError, match=r"took longer than 0.05 s and was stopped; try again"):
        install(folder, "python", [Requirement("python", PACKAGE)], timeout_seconds=0.05)
    assert installed(folder) == [] and not (folder / "python").exists()


@pytest.mark.parametrize(
    ("ecosystem", "name", "version"),
    [
        ("python", "toolz", "@ https://example.invalid/toolz.whl"),
        ("python", "toolz", "; os.system('x')"),
        ("python", "-r/etc/passwd", ""),
        ("python", "../toolz", ""),
        ("node", "lodash", "file:/etc"),
        ("node", "lodash", "git+https://example.invalid/x.git"),
        ("node", "lodash", "user/repo"),
        ("node", "lodash", "--foo"),
        ("node", "--prefix", ""),
        ("node", "Lodash", ""),
    ],
)
def test_only_registry_names_and_versions_are_installed(ecosystem: Any, name: str, version: str) -> None:
    with pytest.raises(DependencyInstallError):
        Requirement(ecosystem, name, version).spec()


def test_registry_specs() -> None:
    assert Requirement("python", "toolz", ">= 1.0, <2").spec() == "toolz>=1.0,<2"
    assert Requirement("python", "toolz", "*").spec() == "toolz"
    assert Requirement("node", "@scope/pkg", "^4.17.21").spec() == "@scope/pkg@^4.17.21"
    assert Requirement("node", "lodash", ">=1 <2 || 3.x").spec() == "lodash@>=1 <2 || 3.x"


def test_the_installer_environment_holds_no_secrets() -> None:
    env = installer_env(
        {
            "PATH": "/usr/bin",
            "HOME": "/root",
            "OPENAI_API_KEY": "sk-secret",
            "DATABASE_URL": "postgres://u:p@db/x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "PIP_INDEX_URL": "https://mirror.example/simple",
            "npm_config_registry": "https://npm.example/",
        }
    )
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "PIP_INDEX_URL": "https://mirror.example/simple",
        "npm_config_registry": "https://npm.example/",
    }


def test_wheels_are_picked_for_the_sandbox_interpreter() -> None:
    target = TargetPython("3.11", "2.36", "x86_64")
    args = target.pip_args()
    assert args[:6] == ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
    platforms = target.platforms()
    assert platforms[0] == "manylinux_2_36_x86_64" and "manylinux_2_17_x86_64" in platforms
    assert {"manylinux2014_x86_64", "manylinux1_x86_64", "linux_x86_64"} <= set(platforms)
    assert "manylinux_2_37_x86_64" not in platforms


# --------------------------------------------------------------------------- through the graph

PLAN = {
    "summary": "Unique values in order.",
    "subtasks": ["Return the unique values in first-seen order"],
    "files": [{"path": "uniq.py", "purpose": "uniq"}],
    "public_api": ["uniq(xs: list[int]) -> list[int]"],
    "edge_cases": ["empty list"],
}
WITH_TOOLZ = "from toolz import unique\n\n\ndef uniq(xs):\n    return list(unique(xs))\n"
WITHOUT = "def uniq(xs):\n    return list(dict.fromkeys(xs))\n"
TESTS = "from uniq import uniq\n\n\ndef test_it():\n    assert uniq([3, 1, 3]) == [3, 1]\n"
REFLECTION = {"hypothesis": "toolz cannot be used.", "fix_plan": ["Use dict.fromkeys"]}


@pytest.fixture
def open_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data dir (workspaces, dependency folders) that either sandbox backend can bind from."""
    home = _searchable_dir("agent-graph-deps-home-")
    monkeypatch.setenv("AGENT_GRAPH_HOME", str(home))
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _model(name: str, answers: list[dict[str, Any]], plan: dict[str, Any] = PLAN) -> str:
    script = {"Plan": [{"args": plan}], "write_file": answers, "Reflection": [{"args": REFLECTION}]}
    register_model(f"scripted:{name}", ScriptedChatModel(script=script))
    return f"scripted:{name}"


def test_an_approved_package_is_installed_and_the_tests_pass(database_url: str, open_home: Path) -> None:
    asked: list[str] = []
    outcome = run_task(
        "Unique values in first-seen order.",
        "python",
        "library",
        Context(
            first_samples=1,
            model=_model("deps-approve", [write("uniq.py", WITH_TOOLZ), write("test_uniq.py", TESTS)]),
        ),
        approver=approving(asked),
    )
    assert asked == [PACKAGE]
    assert (outcome.status, outcome.iterations) == ("passed", 1)
    folder = dependencies_dir(outcome.task_id)
    assert installed(folder) == [f"python:{PACKAGE}"]  # kept after the run: the code needs it
    assert (folder / "python" / "toolz" / "__init__.py").is_file()


def test_an_allowlisted_package_is_installed_without_asking(
    database_url: str, open_home: Path, tmp_path: Path
) -> None:
    allowlist = tmp_path / "allowed_deps.json"
    allowlist.write_text(f'{{"python": ["pytest", "{PACKAGE}"], "node": []}}', encoding="utf-8")
    asked: list[str] = []
    outcome = run_task(
        "Unique values in first-seen order.",
        "python",
        "library",
        Context(
            first_samples=1,
            model=_model(
                "deps-allowlisted",
                [write("uniq.py", WITH_TOOLZ), write("test_uniq.py", "import pytest\n" + TESTS)],
            ),
            allowed_deps_file=str(allowlist),
        ),
        approver=approving(asked),
    )
    assert asked == []  # allowlisted: no question
    assert (outcome.status, outcome.iterations) == ("passed", 1)
    # The tests import pytest too: a framework every sandbox has is never installed.
    assert installed(dependencies_dir(outcome.task_id)) == [f"python:{PACKAGE}"]


def test_a_denied_package_is_never_installed(database_url: str, open_home: Path) -> None:
    answers = [write("uniq.py", WITH_TOOLZ), write("uniq.py", WITHOUT), write("test_uniq.py", TESTS)]
    outcome = run_task(
        "Unique values in first-seen order.",
        "python",
        "library",
        Context(first_samples=1, model=_model("deps-deny", answers)),
    )
    assert (outcome.status, outcome.iterations) == ("passed", 2)
    assert not dependencies_dir(outcome.task_id).exists()  # the empty folder goes with the sandbox


def test_an_approved_package_that_cannot_be_installed_sends_the_coder_back(
    database_url: str, open_home: Path
) -> None:
    plan = {**PLAN, "files": [*PLAN["files"], {"path": "requirements.txt", "purpose": "dependencies"}]}
    answers = [
        write("uniq.py", WITH_TOOLZ),
        write("requirements.txt", "toolz==0.0.0.1\n"),  # no such version
        write("uniq.py", WITHOUT),
        write("requirements.txt", "\n"),
        write("test_uniq.py", TESTS),
    ]
    outcome = run_task(
        "Unique values in first-seen order.",
        "python",
        "library",
        Context(first_samples=1, model=_model("deps-uninstallable", answers, plan)),
        approver=lambda request: (True, "user"),
    )
    assert (outcome.status, outcome.iterations) == ("passed", 2)
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome.task_id)
    assert [r["status"] for r in rows] == ["blocked", "passed"]
    assert "approved but could not be installed" in rows[0]["error_summary"]
