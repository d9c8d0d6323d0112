"""The local backend: bubblewrap namespaces, rlimits and (where allowed) a cgroup per run.

For machines without a Docker engine. Every run gets new namespaces of every kind
(`--unshare-all`: no network but its own loopback, its own pids, ipc, uts, user, cgroup), no
capabilities, an empty environment, and a root filesystem made of read-only binds: the
debootstrap tree that the Docker image is made from (identical interpreters on both backends),
or, when that has not been built, the host's /usr and /lib only. The host's `/`, /etc/shadow,
/root, /home, /run and the Docker socket are never bound. The workspace is copied in (a tar on
stdin) to a size-capped tmpfs, so nothing the sandbox writes reaches the host. The task's
approved packages, when its dependency folder holds any, are a read-only bind on /opt.

Limits: RLIMIT_AS/CPU/NPROC/FSIZE/NOFILE/CORE via `prlimit`; as root the run is also put in a
memory+pids+cpu cgroup, and bubblewrap runs as the unprivileged `sandbox` uid (RLIMIT_NPROC is
ignored for root, and root would own the files it can read). Without a cgroup, RLIMIT_AS is the
memory bound, tight enough that Node's `fetch` (WebAssembly) cannot run. The wall-clock deadline kills
bubblewrap, which takes its pid namespace, so every process of the run, down with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from agent_graph.sandbox import cgroups
from agent_graph.sandbox.base import (
    ExecResult,
    Language,
    SandboxSettings,
    SandboxUnavailableError,
    TestReport,
)
from agent_graph.sandbox.capture import BoundedBuffer
from agent_graph.sandbox.image import find_rootfs
from agent_graph.sandbox.reports import build_report
from agent_graph.sandbox.runners import (
    DEPENDENCIES_DIR,
    DEPENDENCY_ENV,
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

REPORT_LIMIT = 8 * 1024 * 1024
ADDRESS_SPACE_HEADROOM_MB = 1024  # V8 and glibc reserve far more address space than they touch
# V8 reserves about 10 GiB of address space for each WebAssembly memory (its guard regions), and
# Node's `fetch` parses HTTP in WebAssembly: under the tight limit above it fails for want of
# address space it would never touch. Where a cgroup bounds the run's real memory, the address
# space limit is only a backstop and leaves room for that reservation.
WASM_ADDRESS_SPACE_HEADROOM_MB = 16 * 1024
TIMED_OUT_EXIT = 137
SHM_TMPFS_MB = 64
EMPTY_TAR = b"\0" * 10240  # an archive with no entries: the end-of-archive blocks only

# Without the debootstrap tree: the host's runtime, read-only, and a handful of /etc files that
# the dynamic loader and interpreters read. Nothing else of /etc (no shadow, no ssh keys).
HOST_RUNTIME_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
HOST_ETC_FILES = (
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "ssl",
    "ca-certificates",
)


@dataclass
class _Run:
    exit_code: int
    stdout: BoundedBuffer
    stderr: BoundedBuffer
    duration_seconds: float
    timed_out: bool = False


class LocalSandbox:
    """A `Sandbox` that runs each command in fresh bubblewrap namespaces on this machine."""

    name = "local"

    def __init__(self, settings: SandboxSettings, task_id: str = "") -> None:
        self.settings = settings
        self.task_id = task_id
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailableError(
                "bubblewrap is not installed: run `apt-get install bubblewrap` (or start Docker for the docker backend)."
            )
        self.bwrap = bwrap
        self.prlimit = shutil.which("prlimit")
        self.setpriv = shutil.which("setpriv")
        self.rootfs = find_rootfs()
        if self.rootfs is None:
            log.warning(
                "no sandbox root filesystem built (run `agent-graph sandbox build`): using the host's /usr read-only"
            )
        self._probe()

    def _probe(self) -> None:
        """Fail now, with a reason, if bubblewrap cannot create namespaces here."""
        run = self._spawn(["true"], EMPTY_TAR, "", timeout=20, stdout_limit=4096, use_cgroup=False)
        if run.exit_code != 0:
            reason = run.stderr.text().strip().splitlines()[-1:] or [f"exit {run.exit_code}"]
            raise SandboxUnavailableError(
                f"bubblewrap cannot create a sandbox here ({reason[0]}): allow unprivileged user namespaces "
                "(sysctl kernel.unprivileged_userns_clone=1) or use the docker backend."
            )

    # ------------------------------------------------------------------ the Sandbox protocol

    def execute(
        self, command: list[str], workspace: Path, timeout_seconds: float | None = None
    ) -> ExecResult:
        """Run `command` in a fresh copy of `workspace`; stdout and stderr are capped separately."""
        try:
            archive = workspace_tar(workspace)
        except WorkspaceTooLargeError as exc:
            return ExecResult(exit_code=SETUP_FAILED, stdout="", stderr=str(exc), duration_seconds=0.0)
        run = self._spawn(
            command, archive, "", self._timeout(timeout_seconds), self.settings.output_limit_bytes
        )
        return ExecResult(
            exit_code=run.exit_code,
            stdout=run.stdout.text(),
            stderr=run.stderr.text(),
            duration_seconds=round(run.duration_seconds, 3),
            timed_out=run.timed_out,
            truncated=run.stdout.truncated or run.stderr.truncated,
        )

    def run_tests(
        self, workspace: Path, language: Language, timeout_seconds: float | None = None
    ) -> TestReport:
        """Run pytest or node --test on a fresh copy of `workspace` and parse the report."""
        try:
            archive = workspace_tar(workspace, runner_files=runner_files(language))
        except WorkspaceTooLargeError as exc:
            return TestReport(status="error", output=str(exc), backend=self.name)
        timeout = self._timeout(timeout_seconds)
        run = self._spawn(
            test_command(language, timeout_seconds=timeout), archive, REPORT_PATH, timeout, REPORT_LIMIT
        )
        notes = [f"[sandbox] killed after the {timeout:g} s wall-clock limit"] if run.timed_out else []
        return build_report(
            language,
            report_text=run.stdout.text() if run.stdout.total else None,
            exit_code=run.exit_code,
            output="\n".join([*notes, run.stderr.text()]),
            duration_seconds=run.duration_seconds,
            timed_out=run.timed_out,
            truncated=run.stderr.truncated,
            backend=self.name,
        )

    def close(self) -> None:
        """Nothing outlives a run: namespaces and cgroups are per run."""

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ building the command

    def _timeout(self, timeout_seconds: float | None) -> float:
        return timeout_seconds if timeout_seconds is not None else self.settings.timeout_seconds

    def _root_args(self) -> list[str]:
        if self.rootfs is not None:
            return ["--ro-bind", str(self.rootfs), "/"]
        args: list[str] = []
        for name in HOST_RUNTIME_DIRS:
            path = Path("/") / name
            if path.is_symlink():  # merged /usr: /bin -> usr/bin
                args += ["--symlink", os.readlink(path), f"/{name}"]
            elif path.is_dir():
                args += ["--ro-bind", str(path), f"/{name}"]
        for name in HOST_ETC_FILES:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        return args

    def _bwrap_args(self, inner: list[str]) -> list[str]:
        mb = 1024 * 1024
        args = [
            self.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",  # no nested user namespaces: less kernel surface for an escape
            "--die-with-parent",
            "--new-session",
            "--cap-drop", "ALL",
            "--clearenv",
            "--uid", str(SANDBOX_UID),
            "--gid", str(SANDBOX_GID),
            *self._root_args(),
            *self._dependency_args(),
            "--proc", "/proc",
            "--dev", "/dev",
            # bwrap's /dev is a tmpfs owned by the sandbox user: cap /dev/shm, make the rest read-only
            # (device nodes stay usable), or it would be unbounded RAM to fill.
            "--size", str(SHM_TMPFS_MB * mb), "--tmpfs", "/dev/shm",
            "--remount-ro", "/dev",
            "--size", str(TMP_TMPFS_MB * mb), "--tmpfs", "/tmp",
            "--size", str(WORKSPACE_TMPFS_MB * mb), "--tmpfs", WORKSPACE_DIR,
            # The root itself is read-only too (without the rootfs it is bwrap's own tmpfs).
            "--remount-ro", "/",
            "--hostname", "sandbox",
            "--chdir", WORKSPACE_DIR,
        ]  # fmt: skip
        for key, value in SANDBOX_ENV.items():
            args += ["--setenv", key, value]
        if self.settings.dependencies_dir:
            for key, value in DEPENDENCY_ENV.items():
                args += ["--setenv", key, value]
        return [*args, "--", *inner]

    def _dependency_args(self) -> list[str]:
        """A read-only bind of the task's approved packages, when there are any.

        bubblewrap resolves the folder as the user it runs as: as root that is the sandbox uid, which
        must be able to enter every parent folder. An empty folder is simply not bound, so a private
        data dir only matters once a package has been installed into it.
        """
        folder = Path(self.settings.dependencies_dir) if self.settings.dependencies_dir else None
        if folder is None or not folder.is_dir() or not any(folder.iterdir()):
            return []
        if os.geteuid() == 0 and not _reachable_by(folder, SANDBOX_UID, SANDBOX_GID):
            raise SandboxUnavailableError(
                f"the sandbox user cannot reach the dependency folder {folder} because a parent folder is "
                "private: set AGENT_GRAPH_HOME to a folder under world-searchable ones, or use the docker backend."
            )
        return ["--ro-bind", str(folder), DEPENDENCIES_DIR]

    def _limits_args(self, timeout: float, memory_in_cgroup: bool) -> list[str]:
        if self.prlimit is None:
            return []
        s = self.settings
        mb = 1024 * 1024
        # Without a cgroup the address space limit is the only bound on memory, so it stays tight.
        headroom = WASM_ADDRESS_SPACE_HEADROOM_MB if memory_in_cgroup else ADDRESS_SPACE_HEADROOM_MB
        # RLIMIT_NPROC counts every process of the (real) user, including other sandboxes' (Docker's
        # run as the same uid): leave room for the ones running now. As root the run's cgroup is the
        # exact per-run bound; the rlimit is the backstop.
        nproc = s.pids + _processes_of(SANDBOX_UID if os.geteuid() == 0 else os.getuid())
        cpu_seconds = int(timeout * max(s.cpus, 1.0)) + 5  # a backstop; the deadline comes first
        return [
            self.prlimit,
            f"--as={(s.memory_mb + headroom) * mb}",
            f"--cpu={cpu_seconds}",
            f"--nproc={nproc}",
            f"--fsize={s.file_size_mb * mb}",
            "--nofile=1024",
            "--core=0",
            "--",
        ]

    def _launch_argv(self, inner: list[str], group: cgroups.RunCgroup | None, timeout: float) -> list[str]:
        argv = [*self._limits_args(timeout, memory_in_cgroup=group is not None), *self._bwrap_args(inner)]
        if os.geteuid() == 0:
            if self.setpriv is None:
                raise SandboxUnavailableError(
                    "setpriv (util-linux) is missing: run `apt-get install util-linux`."
                )
            # Root would own (and so could read) root's 0600 files and is exempt from RLIMIT_NPROC.
            argv = [
                self.setpriv,
                f"--reuid={SANDBOX_UID}",
                f"--regid={SANDBOX_GID}",
                "--clear-groups",
                "--inh-caps=-all",
                "--",
                *argv,
            ]
        if group is not None:
            # Join the cgroup before anything of the run exists, then drop privileges and go.
            joins = " && ".join(f"echo $$ > {shlex.quote(str(f))}" for f in group.procs_files)
            argv = [
                "/bin/sh",
                "-c",
                f'{joins} || exit {SETUP_FAILED}; exec "$@"',
                "agent-graph-cgroup",
                *argv,
            ]
        return argv

    # ------------------------------------------------------------------ running

    def _spawn(
        self,
        command: list[str],
        archive: bytes,
        report_path: str,
        timeout: float,
        stdout_limit: int,
        use_cgroup: bool = True,
    ) -> _Run:
        s = self.settings
        group = cgroups.create(s.memory_mb * 1024 * 1024, s.pids, s.cpus) if use_cgroup else None
        inner = wrapped(command, report_path, extract_from_stdin=True, clean_after=False)
        argv = self._launch_argv(inner, group, timeout)
        stdout = BoundedBuffer(stdout_limit)
        stderr = BoundedBuffer(s.output_limit_bytes)
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},  # the host's env never reaches bwrap
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            if group is not None:
                group.remove()
            raise SandboxUnavailableError(f"could not start bubblewrap ({exc}).") from exc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        threads = [
            threading.Thread(target=_feed, args=(proc.stdin, archive), daemon=True),
            threading.Thread(target=_drain, args=(proc.stdout, stdout), daemon=True),
            threading.Thread(target=_drain, args=(proc.stderr, stderr), daemon=True),
        ]
        for thread in threads:
            thread.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if timed_out or proc.poll() is None:
                _kill(proc)
            if group is not None:
                group.remove()  # also kills anything that slipped out of the pid namespace's fate
        for thread in threads:
            thread.join(timeout=5)
        duration = time.monotonic() - started
        exit_code = TIMED_OUT_EXIT if timed_out else _exit_code(proc.returncode)
        return _Run(exit_code, stdout, stderr, duration, timed_out)


def _feed(pipe: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, OSError):
        pipe.write(data)
    with contextlib.suppress(BrokenPipeError, OSError):
        pipe.close()


def _drain(pipe: IO[bytes], buffer: BoundedBuffer) -> None:
    with contextlib.suppress(OSError, ValueError):
        while chunk := os.read(pipe.fileno(), 65536):
            buffer.write(chunk)
    with contextlib.suppress(OSError):
        pipe.close()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    # bwrap's death takes its pid namespace down (--die-with-parent on the namespace's init).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _exit_code(returncode: int | None) -> int:
    if returncode is None:
        return -1
    return 128 - returncode if returncode < 0 else returncode  # -9 (killed) -> 137, like a shell


def _reachable_by(folder: Path, uid: int, gid: int) -> bool:
    """Whether `uid` may list `folder` and enter it and every folder above it (mode bits only)."""

    def allows(path: Path, bits: int) -> bool:  # bits: the "other" triplet, e.g. 0o5 for r-x
        st = path.stat()
        if st.st_uid == uid:
            return (st.st_mode >> 6) & bits == bits
        if st.st_gid == gid:
            return (st.st_mode >> 3) & bits == bits
        return st.st_mode & bits == bits

    folder = folder.resolve()
    try:
        return allows(folder, 0o5) and all(allows(parent, 0o1) for parent in folder.parents)
    except OSError:
        return False


def _processes_of(uid: int) -> int:
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                if line.startswith("Uid:"):
                    count += line.split()[1] == str(uid)
                    break
    return count
