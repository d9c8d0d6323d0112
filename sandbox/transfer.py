"""Pack a host workspace into a tar stream for the sandbox.

Both backends copy the workspace in rather than mounting it: the sandbox then writes only to its
own size-capped tmpfs, and nothing it does can change the host folder. Entries are owned by the
sandbox user and lose setuid/setgid bits; symlinks stay symlinks (they resolve inside the
sandbox, where they can reach nothing of the host). A test run's own files (`runners.runner_files`)
are added under names the workspace's copy never brings.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from agent_graph.sandbox.runners import SANDBOX_GID, SANDBOX_UID, WORKSPACE_TMPFS_MB

# Host-side caches and bookkeeping that a test run must not see or does not need.
SKIPPED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".git", ".agent-graph"})


class WorkspaceTooLargeError(ValueError):
    """The workspace would not fit into the sandbox's workspace tmpfs."""


def workspace_tar(
    workspace: Path,
    limit_bytes: int = WORKSPACE_TMPFS_MB * 1024 * 1024,
    runner_files: Mapping[str, str] | None = None,
) -> bytes:
    """The workspace's contents (not the folder itself) as an uncompressed tar, with `runner_files`
    (path relative to the workspace -> text) added."""
    if not workspace.is_dir():
        raise FileNotFoundError(f"workspace {workspace} is not a folder")
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for folder, dirs, files in os.walk(workspace, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_NAMES)
            for name in [*dirs, *sorted(files)]:
                path = Path(folder) / name
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(workspace)))
                if not (info.isfile() or info.isdir() or info.issym()):
                    continue  # devices, fifos, sockets: nothing a test needs
                _sandbox_owned(info)
                # No privilege bits; the owner may always read, write and clean up its files.
                info.mode = (info.mode & 0o777) | (0o700 if info.isdir() else 0o600)
                if info.isfile():
                    total += info.size
                    if total > limit_bytes:
                        raise WorkspaceTooLargeError(
                            f"workspace {workspace} holds more than {limit_bytes // 2**20} MiB; "
                            "the sandbox cannot take it"
                        )
                    with path.open("rb") as handle:
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)
        for name, text in (runner_files or {}).items():
            _add_runner_file(tar, PurePosixPath(name), text.encode("utf-8"))
    return buffer.getvalue()


def _add_runner_file(tar: tarfile.TarFile, path: PurePosixPath, data: bytes) -> None:
    """`path`'s folders and the file itself, owned by the sandbox user and readable by it only."""
    for folder in reversed(path.parents[:-1]):
        info = _sandbox_owned(tarfile.TarInfo(str(folder)))
        info.type, info.mode = tarfile.DIRTYPE, 0o700
        tar.addfile(info)
    info = _sandbox_owned(tarfile.TarInfo(str(path)))
    info.mode, info.size = 0o600, len(data)
    tar.addfile(info, io.BytesIO(data))


def _sandbox_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid, info.gid, info.uname, info.gname = SANDBOX_UID, SANDBOX_GID, "sandbox", "sandbox"
    return info
