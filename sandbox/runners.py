"""What runs inside the sandbox, identical for both backends: the environment, the test
commands and the small shell wrapper around every command.

The wrapper runs the command in `/workspace` (the copied-in workspace) with no stdin. For a test
run it sends the command's own output to stderr and then prints the runner's report file on
stdout, so one stream carries the machine-readable report and the other the human-readable
output, with no file to fetch afterwards.
"""

from __future__ import annotations

from pathlib import Path

from agent_graph.sandbox.base import Language
from agent_graph.sandbox.program_runs import NODE_PRELOAD, NODE_PRELOAD_DIR, preload_source

SANDBOX_UID = 10001  # the `sandbox` user of the image recipe; never root
SANDBOX_GID = 10001
WORKSPACE_DIR = "/workspace"
REPORT_PATH = "/tmp/.agent-graph-report"  # inside the sandbox only
WORKSPACE_TMPFS_MB = 256  # the workspace is a size-capped tmpfs: a program cannot fill the host's disk
TMP_TMPFS_MB = 64
SETUP_FAILED = 125  # exit code of the wrapper when the sandbox itself could not be prepared
DIRTY_MARKER = "@@agent-graph:workspace-not-clean@@"

# Nothing from the host's environment goes in (no API keys, no DATABASE_URL): only these.
SANDBOX_ENV: dict[str, str] = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "NO_COLOR": "1",
}

# A task's approved packages (installed on the host by `dependency_install`) are mounted read-only
# here. /opt is empty in the Debian image and exists on its read-only root, so both backends can
# mount on it without a rebuilt image; the layout below is the installer's.
DEPENDENCIES_DIR = "/opt"
PYTHON_DEPENDENCIES = "python"  # `pip install --target` folder
NODE_DEPENDENCIES = "node"  # `npm install --prefix` folder; the packages are in its node_modules
DEPENDENCY_ENV: dict[str, str] = {
    "PYTHONPATH": f"{DEPENDENCIES_DIR}/{PYTHON_DEPENDENCIES}",
    # NODE_PATH serves `require()`, which the generated tests use; ES `import` ignores it.
    "NODE_PATH": f"{DEPENDENCIES_DIR}/{NODE_DEPENDENCIES}/node_modules",
}


# What every sandbox runs the tests with (the image and the local backend both carry them), so an
# allowlisted use of one needs no install.
TEST_FRAMEWORKS: dict[Language, frozenset[str]] = {
    "python": frozenset({"pytest", "hypothesis"}),
    "node": frozenset(),
}


# pytest plugins no test run needs: the cache (the workspace is thrown away; a cache would only
# cost time), and nose, through which pytest before 8 calls a module-level function named `setup`
# as the module's setup, with the module as its argument (a test's own `setup(tmp_path)` helper
# then errors before any test runs).
PYTEST_PLUGINS_OFF = ["-p", "no:cacheprovider", "-p", "no:nose"]


# The Node preload that keeps a server a test left listening from holding its file's process open.
NODE_SERVERS_PRELOAD = f"{NODE_PRELOAD_DIR}/open-servers.cjs"
_SERVERS_PRELOAD_SOURCE = Path(__file__).with_name("open_servers_preload.cjs")
# Every Node test run loads these, in this order (`runner_files` adds them to the run).
NODE_PRELOADS = (NODE_PRELOAD, NODE_SERVERS_PRELOAD)


def test_command(
    language: Language, report_path: str = REPORT_PATH, timeout_seconds: float | None = None
) -> list[str]:
    """The command that runs every test in the workspace and writes a machine-readable report.

    With `timeout_seconds` (the run's wall-clock limit), a Python test still running at half of it
    gets its stack dumped to the output (pytest's faulthandler_timeout): a run killed at the limit
    writes no report, and the dump is what tells the reflector which test hung, and on which line.
    """
    if language == "python":
        hang_dump = (
            ["-o", f"faulthandler_timeout={max(1, int(timeout_seconds / 2))}"] if timeout_seconds else []
        )
        return [
            "python3", "-m", "pytest", "-q", "--color=no",
            *PYTEST_PLUGINS_OFF,
            f"--junitxml={report_path}",
            "-o", "junit_family=xunit2",
            *hang_dump,
        ]  # fmt: skip
    if language == "node":
        return [
            "node", *[arg for preload in NODE_PRELOADS for arg in ("--require", f"{WORKSPACE_DIR}/{preload}")],
            "--test",
            "--test-reporter=tap", f"--test-reporter-destination={report_path}",
            "--test-reporter=spec", "--test-reporter-destination=stdout",
        ]  # fmt: skip
    raise ValueError(f"unknown language {language!r}")


def runner_files(language: Language) -> dict[str, str]:
    """The files a test run of `language` needs besides the workspace (path relative to it -> text):
    Node's preloads, the one that shows a failing test's program runs (sandbox.program_runs) and the
    one that lets a test file end with a server still listening (open_servers_preload.cjs)."""
    if language != "node":
        return {}
    return {
        NODE_PRELOAD: preload_source(),
        NODE_SERVERS_PRELOAD: _SERVERS_PRELOAD_SOURCE.read_text(encoding="utf-8"),
    }


def wrapper_script(*, extract_from_stdin: bool, clean_after: bool) -> str:
    """The `sh -c` script around a command; `$1` is the report path ('' for none), the rest the command.

    - `extract_from_stdin`: unpack the workspace tar arriving on stdin first (local backend).
    - `clean_after`: kill whatever the command left running and empty the workspace (the warm
      Docker container outlives the run; the local sandbox is thrown away with its namespaces).
    """
    lines = ["report=$1; shift", f"cd {WORKSPACE_DIR} || exit {SETUP_FAILED}"]
    if extract_from_stdin:
        lines.append(f"tar -xf - --no-same-owner || exit {SETUP_FAILED}")
    lines += [
        'if [ -n "$report" ]; then',
        '  rm -f "$report"',
        '  "$@" >&2 </dev/null; rc=$?',
        '  cat "$report" 2>/dev/null; rm -f "$report"',
        "else",
        '  "$@" </dev/null; rc=$?',
        "fi",
    ]
    if clean_after:
        lines += [
            # `kill -1` reaches every process of the sandbox user except this shell and PID 1.
            "kill -9 -1 2>/dev/null",
            f"cd / && chmod -R u+rwX {WORKSPACE_DIR} 2>/dev/null",
            f"find {WORKSPACE_DIR} -mindepth 1 -delete 2>/dev/null",
            f'[ -z "$(ls -A {WORKSPACE_DIR} 2>/dev/null)" ] || echo "{DIRTY_MARKER}" >&2',
        ]
    lines.append("exit $rc")
    return "\n".join(lines)


def wrapped(
    command: list[str], report_path: str, *, extract_from_stdin: bool, clean_after: bool
) -> list[str]:
    """`command` inside the wrapper, as an argv for the sandbox's /bin/sh."""
    script = wrapper_script(extract_from_stdin=extract_from_stdin, clean_after=clean_after)
    return ["/bin/sh", "-c", script, "agent-graph-sandbox", report_path, *command]
