"""Per-run control groups for the local sandbox: memory, process count and CPU, where allowed.

rlimits alone are leaky: RLIMIT_AS also counts address space reserved but never used (node
reserves gigabytes), and RLIMIT_NPROC counts per user, not per sandbox. A control group caps the
real memory (tmpfs pages included), the number of tasks and the CPU share of one run, and lets
the host kill every process of the run at once. Creating one needs root (or a delegated
subtree), so this is best effort: `create` returns None where it cannot, and the sandbox keeps
its rlimits. The group is nested under the caller's own group, so limits set above us still hold.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PREFIX = "agent-graph-sbx-"


@dataclass
class RunCgroup:
    """One run's control group(s): a directory per controller (v1) or one directory (v2)."""

    version: int
    dirs: list[Path] = field(default_factory=list)

    @property
    def procs_files(self) -> list[Path]:
        """The files a process writes its pid into to join the group."""
        return [d / "cgroup.procs" for d in self.dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(OSError, ValueError):
                found |= {int(line) for line in procs.read_text().split()}
        return found

    def kill(self) -> None:
        """SIGKILL every process in the group (a fork bomb may be forking while we do it)."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                (self.dirs[0] / "cgroup.kill").write_text("1")
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill()
        for directory in self.dirs:
            for _ in range(50):  # rmdir fails with EBUSY until the last task has been reaped
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _own_v1_path(controller: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path.lstrip("/")
    raise OSError(f"not in a {controller} cgroup")


def _remove_stale(parent: Path) -> None:
    # Groups of runs that crashed: empty ones can simply go (rmdir refuses non-empty ones).
    for stale in parent.glob(f"{PREFIX}*"):
        with contextlib.suppress(OSError):
            stale.rmdir()


def _create_v1(memory_bytes: int, pids: int, cpus: float) -> RunCgroup:
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    group = RunCgroup(version=1)
    try:
        for controller in ("memory", "pids", "cpu"):
            if controller == "cpu" and not (CGROUP_ROOT / "cpu").is_dir():
                continue  # CPU share is a nicety; memory and pids are what contain a hostile run
            parent = CGROUP_ROOT / controller / _own_v1_path(controller)
            _remove_stale(parent)
            directory = parent / name
            directory.mkdir()
            group.dirs.append(directory)
            if controller == "memory":
                (directory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                with contextlib.suppress(OSError):  # absent when swap accounting is off
                    (directory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            elif controller == "pids":
                (directory / "pids.max").write_text(str(pids))
            else:
                period = 100_000
                (directory / "cpu.cfs_period_us").write_text(str(period))
                (directory / "cpu.cfs_quota_us").write_text(str(max(1000, int(period * cpus))))
    except OSError:
        group.remove()
        raise
    return group


def _create_v2(memory_bytes: int, pids: int, cpus: float) -> RunCgroup:
    own = Path("/proc/self/cgroup").read_text().strip().split("::", 1)[-1].lstrip("/")
    parent = CGROUP_ROOT / own
    # A v2 group can hand controllers to children only if they are enabled in its subtree_control
    # (and, except at the root, only when it holds no processes itself); if not, this fails.
    wanted = {"memory", "pids", "cpu"}
    enabled = set((parent / "cgroup.subtree_control").read_text().split())
    if not wanted <= enabled:
        (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(wanted - enabled)))
    _remove_stale(parent)
    directory = parent / f"{PREFIX}{uuid.uuid4().hex[:12]}"
    directory.mkdir()
    group = RunCgroup(version=2, dirs=[directory])
    try:
        (directory / "memory.max").write_text(str(memory_bytes))
        with contextlib.suppress(OSError):
            (directory / "memory.swap.max").write_text("0")
        (directory / "pids.max").write_text(str(pids))
        (directory / "cpu.max").write_text(f"{max(1000, int(100_000 * cpus))} 100000")
    except OSError:
        group.remove()
        raise
    return group


def create(memory_bytes: int, pids: int, cpus: float) -> RunCgroup | None:
    """A fresh control group with these limits, or None where this process may not make one."""
    if os.geteuid() != 0:
        return None
    try:
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            return _create_v2(memory_bytes, pids, cpus)
        if (CGROUP_ROOT / "memory").is_dir() and (CGROUP_ROOT / "pids").is_dir():
            return _create_v1(memory_bytes, pids, cpus)
    except OSError:
        return None
    return None
