"""Pick a sandbox backend by name, and say what is missing when none can run.

`open_sandbox` honours `settings.backend`: `docker` and `local` are used or refused; `auto`
prefers Docker (the stronger boundary: seccomp, cgroups, its own root filesystem) and falls back
to the local bubblewrap sandbox, logging which one it picked. `doctor` lists every prerequisite
with its state and the command that fixes it.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass

from agent_graph.sandbox.base import Sandbox, SandboxSettings, SandboxUnavailableError
from agent_graph.sandbox.image import docker_client, find_rootfs, image_recipe, recipe_hash, rootfs_dir

log = logging.getLogger(__name__)

HOW_TO_GET_ONE = (
    "no sandbox backend can run here: start Docker and build the image with `scripts/start-docker.sh && "
    "agent-graph sandbox build`, or install bubblewrap (`apt-get install bubblewrap`) for the local sandbox; "
    "`agent-graph sandbox doctor` lists what is missing."
)


def _open_docker(settings: SandboxSettings, task_id: str) -> Sandbox:
    from agent_graph.sandbox.docker_backend import DockerSandbox

    return DockerSandbox(settings, task_id)


def _open_local(settings: SandboxSettings, task_id: str) -> Sandbox:
    from agent_graph.sandbox.local_backend import LocalSandbox

    return LocalSandbox(settings, task_id)


def open_sandbox(settings: SandboxSettings, task_id: str) -> Sandbox:
    """A ready sandbox for `task_id`, or `SandboxUnavailableError` with one sentence on how to get one."""
    if settings.backend == "docker":
        return _open_docker(settings, task_id)
    if settings.backend == "local":
        return _open_local(settings, task_id)
    if settings.backend != "auto":
        raise SandboxUnavailableError(
            f"sandbox backend {settings.backend!r} is unknown; use docker, local or auto."
        )
    reasons: list[str] = []
    for opener in (_open_docker, _open_local):
        try:
            sandbox = opener(settings, task_id)
        except SandboxUnavailableError as exc:
            reasons.append(str(exc))
            continue
        if reasons:
            log.warning("sandbox: using the %s backend (docker unavailable: %s)", sandbox.name, reasons[0])
        else:
            log.info("sandbox: using the %s backend", sandbox.name)
        return sandbox
    log.warning("sandbox: no backend available: %s", " | ".join(reasons))
    raise SandboxUnavailableError(HOW_TO_GET_ONE)


@dataclass(frozen=True)
class Check:
    """One prerequisite: what it is, whether it is there, what was found, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def doctor(settings: SandboxSettings | None = None) -> list[Check]:
    """Every prerequisite of both backends, present or not, with the command that fixes each."""
    settings = settings or SandboxSettings()
    checks: list[Check] = []
    client = docker_client()
    checks.append(
        Check(
            "docker engine",
            client is not None,
            "answers" if client else "no engine answers",
            "scripts/start-docker.sh",
        )
    )
    if client is not None:
        label = image_recipe(client, settings.image)
        if label is None:
            checks.append(
                Check("docker image", False, f"{settings.image} is missing", "agent-graph sandbox build")
            )
        else:
            current = label == recipe_hash() or label.startswith("df-")
            detail = f"{settings.image} (recipe {label or 'unlabelled'})"
            checks.append(
                Check(
                    "docker image",
                    current,
                    detail + ("" if current else ", outdated"),
                    "agent-graph sandbox build",
                )
            )
        client.close()
    else:
        checks.append(Check("docker image", False, "unknown: no engine", "scripts/start-docker.sh"))
    bwrap = shutil.which("bwrap")
    checks.append(
        Check("bubblewrap", bwrap is not None, bwrap or "not installed", "apt-get install bubblewrap")
    )
    if bwrap is not None:
        try:
            _open_local(settings, "doctor").close()
            checks.append(Check("bubblewrap namespaces", True, "a sandbox can be created"))
        except SandboxUnavailableError as exc:
            checks.append(
                Check("bubblewrap namespaces", False, str(exc), "sysctl kernel.unprivileged_userns_clone=1")
            )
    rootfs = find_rootfs()
    checks.append(
        Check(
            "sandbox root filesystem",
            rootfs is not None,
            str(rootfs)
            if rootfs
            else f"{rootfs_dir()} not built (the local sandbox would use the host's /usr)",
            "agent-graph sandbox build",
        )
    )
    checks.append(
        Check(
            "debootstrap",
            shutil.which("debootstrap") is not None,
            shutil.which("debootstrap") or "not installed (needed only to build the image)",
            "apt-get install debootstrap",
        )
    )
    return checks
