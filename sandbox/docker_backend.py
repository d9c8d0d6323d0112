"""The Docker backend: one warm, locked-down container per task.

The container is created once per task and reused for every run (a cold start costs most of a
second, an exec a few tens of milliseconds). It has no network at all (`network_mode=none`), a
read-only root, memory = memory+swap, pids and CPU limits, no capabilities, no-new-privileges
and a non-root user. The workspace lives on a size-capped tmpfs volume: each run copies the
host workspace in (`put_archive`), runs, and empties it, so nothing flows back to the host.
The task's approved packages, when it has a dependency folder, are a read-only bind on /opt.

A wall-clock deadline is enforced from the host: when it passes, the container is killed and
started again, which ends every process the run left, however it forked. PID 1 is a tiny
reaper running as the sandbox user, so zombies never eat the pids budget and `kill -1` inside
the container cannot take the container down. Containers and volumes carry labels naming
their owning process; a new sandbox removes those whose owner has died (a crash, a kill -9).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_graph.sandbox.base import (
    ExecResult,
    Language,
    SandboxSettings,
    SandboxUnavailableError,
    TestReport,
)
from agent_graph.sandbox.capture import BoundedBuffer
from agent_graph.sandbox.reports import build_report
from agent_graph.sandbox.runners import (
    DEPENDENCIES_DIR,
    DEPENDENCY_ENV,
    DIRTY_MARKER,
    REPORT_PATH,
    SANDBOX_ENV,
    SANDBOX_GID,
    SANDBOX_UID,
    SETUP_FAILED,
    TMP_TMPFS_MB,
    WORKSPACE_DIR,
    WORKSPACE_TMPFS_MB,
    runner_files,
    test_command,
    wrapped,
)
from agent_graph.sandbox.transfer import WorkspaceTooLargeError, workspace_tar

log = logging.getLogger(__name__)

LABEL = "agent-graph.sandbox"
LABEL_TASK = "agent-graph.task"
LABEL_OWNER = "agent-graph.owner"  # "host:pid:start-time" of the process that created it
REPORT_LIMIT = 8 * 1024 * 1024  # bytes of test report accepted from the sandbox
TIMED_OUT_EXIT = 137  # what a SIGKILLed process reports; used for runs killed at the deadline

# PID 1: reaps orphans (zombies would count against the pids limit) and ignores SIGINT, so a
# hostile `kill -INT 1` cannot stop the container; as init it is immune to SIGKILL from inside.
REAPER = (
    "import os, signal, time\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "while True:\n"
    "    try:\n"
    "        os.wait()\n"
    "    except ChildProcessError:\n"
    "        time.sleep(1)\n"
)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    try:
        # Field 22 of /proc/PID/stat, the start time, tells a live owner from a reused pid.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _owner_alive(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname():
        return True  # another machine's engine view; not ours to judge
    return pid.isdigit() and _start_time(int(pid)) == started != ""


def remove_stale(client: Any) -> int:
    """Remove sandbox containers and volumes whose owning process is gone; returns how many."""
    removed = 0
    # sparse: the listing's own labels, no inspect per container, which raised NotFound when another
    # process (a sandbox of a parallel run closing) removed one between the listing and the inspect
    for container in client.containers.list(all=True, filters={"label": LABEL}, sparse=True):
        if not _owner_alive((container.attrs.get("Labels") or {}).get(LABEL_OWNER, "")):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
                removed += 1
    for volume in client.volumes.list(filters={"label": LABEL}):
        if not _owner_alive((volume.attrs.get("Labels") or {}).get(LABEL_OWNER, "")):
            with contextlib.suppress(Exception):  # still in use by a live container: leave it
                volume.remove(force=True)
                removed += 1
    return removed


@dataclass
class _Run:
    exit_code: int
    stdout: BoundedBuffer
    stderr: BoundedBuffer
    duration_seconds: float
    timed_out: bool = False
    dirty: bool = False
    notes: list[str] = field(default_factory=list)

    def stderr_text(self) -> str:
        return self.stderr.text().replace(f"{DIRTY_MARKER}\n", "")


class DockerSandbox:
    """A `Sandbox` backed by one warm Docker container for one task."""

    name = "docker"

    def __init__(self, settings: SandboxSettings, task_id: str, client: Any | None = None) -> None:
        self.settings = settings
        self.task_id = task_id
        self.client = client if client is not None else _connect()
        self._lock = threading.Lock()
        self._container: Any | None = None
        self._volume: Any | None = None
        self._closed = False
        _require_image(self.client, settings.image)
        stale = remove_stale(self.client)
        if stale:
            log.info("removed %d stale sandbox container(s)/volume(s)", stale)
        slug = re.sub(r"[^a-zA-Z0-9_.-]", "-", task_id)[:40].strip("-.") or "task"
        self.container_name = f"agent-graph-sbx-{slug}-{uuid.uuid4().hex[:8]}"
        self._start()

    # ------------------------------------------------------------------ lifecycle

    def _labels(self) -> dict[str, str]:
        return {LABEL: "1", LABEL_TASK: self.task_id[:200], LABEL_OWNER: _owner()}

    def _start(self) -> None:
        import docker.errors

        try:
            self._create()
        except docker.errors.DockerException as exc:
            self._remove()  # no half-made container or volume left behind
            raise SandboxUnavailableError(
                f"the Docker engine could not start the sandbox container: {exc}"
            ) from exc

    def _create(self) -> None:
        import docker.types

        s = self.settings
        fsize = s.file_size_mb * 1024 * 1024
        self._volume = self.client.volumes.create(
            name=f"{self.container_name}-ws",
            driver="local",
            driver_opts={
                "type": "tmpfs",
                "device": "tmpfs",
                "o": f"size={WORKSPACE_TMPFS_MB}m,uid={SANDBOX_UID},gid={SANDBOX_GID},mode=0700,nosuid,nodev",
            },
            labels=self._labels(),
        )
        volumes = {self._volume.name: {"bind": WORKSPACE_DIR, "mode": "rw"}}
        environment = dict(SANDBOX_ENV)
        if s.dependencies_dir:
            # A bind of the task's whole dependency folder: the installer swaps its subfolders by
            # rename, and the warm container sees each new set without being recreated.
            volumes[s.dependencies_dir] = {"bind": DEPENDENCIES_DIR, "mode": "ro"}
            environment |= DEPENDENCY_ENV
        self._container = self.client.containers.create(
            s.image,
            command=["python3", "-c", REAPER],
            name=self.container_name,
            labels=self._labels(),
            user=f"{SANDBOX_UID}:{SANDBOX_GID}",
            environment=environment,
            working_dir=WORKSPACE_DIR,
            hostname="sandbox",
            network_mode="none",
            ipc_mode="private",
            mem_limit=f"{s.memory_mb}m",
            memswap_limit=f"{s.memory_mb}m",  # equal to mem_limit: no swap on top
            pids_limit=s.pids,
            nano_cpus=int(s.cpus * 1e9),
            read_only=True,
            tmpfs={"/tmp": f"rw,nosuid,nodev,noexec,size={TMP_TMPFS_MB}m"},
            volumes=volumes,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            ulimits=[
                docker.types.Ulimit(name="fsize", soft=fsize, hard=fsize),
                docker.types.Ulimit(name="core", soft=0, hard=0),
                docker.types.Ulimit(name="nofile", soft=1024, hard=1024),
            ],
            stop_signal="SIGKILL",
        )
        self._container.start()
        log.info("sandbox container %s started for task %s", self.container_name, self.task_id)

    def _ensure_running(self) -> None:
        """Bring the container back if it stopped (engine restart) or vanished (`docker rm -f`)."""
        import docker.errors

        assert self._container is not None
        try:
            self._container.reload()
        except docker.errors.NotFound:
            with contextlib.suppress(Exception):
                assert self._volume is not None
                self._volume.remove(force=True)
            self.container_name = f"{self.container_name.rsplit('-', 1)[0]}-{uuid.uuid4().hex[:8]}"
            self._start()
            return
        if self._container.status != "running":
            self._restart()

    def _restart(self) -> None:
        """Kill every process of the container and start it afresh (the tmpfs mounts come back empty)."""
        assert self._container is not None
        with contextlib.suppress(Exception):
            self._container.kill()
        # `kill` returns once the signal is sent. Started again while the old processes still exit
        # (a fork bomb's hundreds, on a loaded machine), the next run would share their pids budget
        # and could fail to fork, so wait until the container has really stopped.
        with contextlib.suppress(Exception):
            self._container.wait(timeout=30)
        self._container.start()

    def close(self) -> None:
        """Remove the container and its workspace volume. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            self._remove()
        with contextlib.suppress(Exception):
            self.client.close()

    def _remove(self) -> None:
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.remove(force=True, v=True)
        if self._volume is not None:
            with contextlib.suppress(Exception):
                self._volume.remove(force=True)
        self._container = self._volume = None

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ running

    def execute(
        self, command: list[str], workspace: Path, timeout_seconds: float | None = None
    ) -> ExecResult:
        """Run `command` in a fresh copy of `workspace`; stdout and stderr are capped separately."""
        limit = self.settings.output_limit_bytes
        try:
            run = self._run(command, workspace, "", timeout_seconds, stdout_limit=limit)
        except WorkspaceTooLargeError as exc:
            return ExecResult(exit_code=SETUP_FAILED, stdout="", stderr=str(exc), duration_seconds=0.0)
        return ExecResult(
            exit_code=run.exit_code,
            stdout=run.stdout.text(),
            stderr=run.stderr_text(),
            duration_seconds=round(run.duration_seconds, 3),
            timed_out=run.timed_out,
            truncated=run.stdout.truncated or run.stderr.truncated,
        )

    def run_tests(
        self, workspace: Path, language: Language, timeout_seconds: float | None = None
    ) -> TestReport:
        """Run pytest or node --test on a fresh copy of `workspace` and parse the report."""
        try:
            deadline = timeout_seconds if timeout_seconds is not None else self.settings.timeout_seconds
            command = test_command(language, timeout_seconds=deadline)
            run = self._run(command, workspace, REPORT_PATH, deadline, REPORT_LIMIT, runner_files(language))
        except WorkspaceTooLargeError as exc:
            return TestReport(status="error", output=str(exc), backend=self.name)
        report_text = run.stdout.text() if run.stdout.total else None
        return build_report(
            language,
            report_text=report_text,
            exit_code=run.exit_code,
            output="\n".join([*run.notes, run.stderr_text()]),
            duration_seconds=run.duration_seconds,
            timed_out=run.timed_out,
            truncated=run.stderr.truncated,
            backend=self.name,
        )

    def _run(
        self,
        command: list[str],
        workspace: Path,
        report_path: str,
        timeout: float | None,
        stdout_limit: int,
        extra_files: Mapping[str, str] | None = None,
    ) -> _Run:
        if self._closed:
            raise SandboxUnavailableError("this sandbox has been closed; open a new one.")
        archive = workspace_tar(workspace, runner_files=extra_files)
        argv = wrapped(command, report_path, extract_from_stdin=False, clean_after=True)
        deadline_seconds = timeout if timeout is not None else self.settings.timeout_seconds
        with self._lock:
            self._ensure_running()
            assert self._container is not None
            self.client.api.put_archive(self._container.id, WORKSPACE_DIR, archive)
            run = self._exec(argv, deadline_seconds, stdout_limit)
            if run.timed_out:
                self._restart()
                run.notes.append(f"[sandbox] killed after the {deadline_seconds:g} s wall-clock limit")
            elif run.dirty:
                self._restart()  # the run left something we could not delete: start from a clean slate
                run.notes.append("[sandbox] the workspace could not be emptied; the container was reset")
        return run

    def _exec(self, argv: list[str], timeout: float, stdout_limit: int) -> _Run:
        api = self.client.api
        assert self._container is not None
        exec_id = api.exec_create(self._container.id, argv, stdout=True, stderr=True, workdir=WORKSPACE_DIR)[
            "Id"
        ]
        stdout = BoundedBuffer(stdout_limit)
        stderr = BoundedBuffer(self.settings.output_limit_bytes)
        started = time.monotonic()
        deadline = started + timeout
        sock = api.exec_start(exec_id, socket=True)
        raw = getattr(sock, "_sock", sock)
        timed_out = False
        pending = _demux(_read_past_headers(sock, raw), stdout, stderr)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                ready, _, _ = select.select([raw], [], [], min(remaining, 1.0))
                if not ready:
                    continue
                chunk = raw.recv(65536)
                if not chunk:
                    break
                pending = _demux(pending + chunk, stdout, stderr)
        finally:
            with contextlib.suppress(Exception):
                sock.close()
        duration = time.monotonic() - started
        if timed_out:
            return _Run(TIMED_OUT_EXIT, stdout, stderr, duration, timed_out=True)
        run = _Run(_exit_code(api, exec_id), stdout, stderr, duration)
        # The wrapper's last line says whether it could empty the workspace; it is never lost to truncation.
        run.dirty = DIRTY_MARKER.encode() in stderr.getvalue()[-2 * len(DIRTY_MARKER) :]
        return run


def _read_past_headers(sock: Any, raw: Any) -> bytes:
    """The output the HTTP client already read into its buffer along with the response headers.

    The Docker SDK hands over the socket under that buffer, so whatever the command wrote before the
    headers were parsed (everything, for a quick command on a busy machine) would be lost; it is
    taken from the buffer here without waiting for more.
    """
    reader = getattr(getattr(getattr(getattr(sock, "_response", None), "raw", None), "_fp", None), "fp", None)
    if reader is None or not hasattr(reader, "read1"):
        return b""
    timeout = raw.gettimeout()
    raw.settimeout(0)  # read only what is buffered (or already arrived): never block here
    try:
        return reader.read1(65536) or b""
    except OSError:  # BlockingIOError: nothing buffered and nothing arrived yet
        return b""
    finally:
        raw.settimeout(timeout)


def _demux(data: bytes, stdout: BoundedBuffer, stderr: BoundedBuffer) -> bytes:
    """Split Docker's multiplexed stream (8-byte header: stream, 0, 0, 0, big-endian size)."""
    while len(data) >= 8:
        size = int.from_bytes(data[4:8], "big")
        if len(data) < 8 + size:
            break
        (stdout if data[0] == 1 else stderr).write(data[8 : 8 + size])
        data = data[8 + size :]
    return data


def _exit_code(api: Any, exec_id: str) -> int:
    for _ in range(100):  # the stream ends a moment before the engine records the exit code
        info = api.exec_inspect(exec_id)
        if not info.get("Running"):
            code = info.get("ExitCode")
            return int(code) if code is not None else -1
        time.sleep(0.01)
    return -1


def _connect() -> Any:
    try:
        import docker

        client = docker.from_env(timeout=60)
        client.ping()
        return client
    except Exception as exc:
        raise SandboxUnavailableError(
            f"no Docker engine answers ({type(exc).__name__}): start one with `scripts/start-docker.sh` "
            "or use the local sandbox (`--backend local`)."
        ) from exc


def _require_image(client: Any, image: str) -> None:
    import docker.errors

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise SandboxUnavailableError(
            f"the sandbox image {image} is missing: build it with `agent-graph sandbox build`."
        ) from None
