"""The sandbox image: a Debian root filesystem built with debootstrap, cached by recipe hash.

One recipe (`build-rootfs.sh`) serves both backends: the directory it produces is the local
sandbox's read-only root, and `docker import` turns the same tree into the Docker image, so
python3, pytest, hypothesis and nodejs are identical wherever tests run. Nothing is pulled
from an image registry; only Debian's archive is needed. A build is skipped when a root
filesystem and an image carrying the current recipe hash already exist.

For machines whose Docker can pull, `Dockerfile` builds an equivalent image (`method="dockerfile"`).

Run as a program: `python -m agent_graph.sandbox.image [--force] [--dockerfile]`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs

from agent_graph.sandbox.base import SandboxSettings, SandboxUnavailableError
from agent_graph.sandbox.runners import SANDBOX_ENV, SANDBOX_GID, SANDBOX_UID, WORKSPACE_DIR

RECIPE_DIR = Path(__file__).resolve().parent
RECIPE_SCRIPT = RECIPE_DIR / "build-rootfs.sh"
DOCKERFILE = RECIPE_DIR / "Dockerfile"
RECIPE_LABEL = "agent-graph.recipe"
SYSTEM_DIR = Path("/var/lib/agent-graph")  # where root's builds go
# Bump to force a rebuild when something outside the recipe files changes what the image must hold.
RECIPE_VERSION = "1"

Log = Callable[[str], None]


def _hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def recipe_hash() -> str:
    """The hash of the debootstrap recipe and of what `docker import` adds to it."""
    changes = "\n".join(_import_changes("")).encode()
    return _hash(RECIPE_VERSION.encode(), RECIPE_SCRIPT.read_bytes(), changes)


def dockerfile_hash() -> str:
    return "df-" + _hash(RECIPE_VERSION.encode(), DOCKERFILE.read_bytes())


def rootfs_parent() -> Path:
    """Where root filesystems are kept: `AGENT_GRAPH_SANDBOX_DIR`, else /var/lib/agent-graph as root.

    Deliberately not under AGENT_GRAPH_HOME: a per-test or per-user data dir should not need its
    own 300 MB copy of the sandbox root.
    """
    named = os.environ.get("AGENT_GRAPH_SANDBOX_DIR")
    if named:
        return Path(named).expanduser()
    if os.geteuid() == 0:
        return SYSTEM_DIR
    return Path(platformdirs.user_data_dir("agent-graph"))


def rootfs_dir() -> Path:
    """The root filesystem directory for the current recipe (it may not exist yet)."""
    return rootfs_parent() / f"sandbox-rootfs-{recipe_hash()}"


def _complete(path: Path) -> bool:
    return (path / "usr" / "bin" / "python3").exists() and (path / WORKSPACE_DIR.lstrip("/")).is_dir()


def find_rootfs() -> Path | None:
    """The built root filesystem for the current recipe (or `AGENT_GRAPH_SANDBOX_ROOTFS`), if present.

    A user's own build is preferred; one that root built (setup.sh) serves every user too.
    """
    named = os.environ.get("AGENT_GRAPH_SANDBOX_ROOTFS")
    if named:
        return Path(named).expanduser() if _complete(Path(named).expanduser()) else None
    for candidate in (rootfs_dir(), SYSTEM_DIR / rootfs_dir().name):
        if _complete(candidate):
            return candidate
    return None


def _import_changes(recipe: str) -> list[str]:
    env = " ".join(f"{key}={value}" for key, value in SANDBOX_ENV.items() if key in ("PATH", "LANG"))
    return [
        f"LABEL {RECIPE_LABEL}={recipe}",
        f"ENV {env}",
        f"USER {SANDBOX_UID}:{SANDBOX_GID}",
        f"WORKDIR {WORKSPACE_DIR}",
        'CMD ["sleep", "infinity"]',
    ]


def _split_image(image: str) -> tuple[str, str]:
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # "registry:5000/name" has a colon but no tag
        return image, "latest"
    return name, tag


def image_recipe(client: Any, image: str) -> str | None:
    """The recipe label of `image` in the Docker engine, '' if unlabelled, None if absent."""
    import docker.errors

    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    return str((found.labels or {}).get(RECIPE_LABEL, ""))


def image_is_current(client: Any, image: str) -> bool:
    return image_recipe(client, image) in (recipe_hash(), dockerfile_hash())


@dataclass
class BuildResult:
    """What `build_image` did."""

    rootfs: Path | None = None
    image: str | None = None
    rootfs_built: bool = False
    image_built: bool = False
    notes: list[str] = field(default_factory=list)


def build_rootfs(force: bool = False, log: Log = print) -> tuple[Path, bool]:
    """Make sure the root filesystem for the current recipe exists; returns (path, built now)."""
    target = rootfs_dir()
    if _complete(target) and not force:
        log(f"root filesystem {target} is current (recipe {recipe_hash()})")
        return target, False
    if os.geteuid() != 0:
        raise SandboxUnavailableError(
            "building the sandbox root filesystem needs root (debootstrap): run `sudo scripts/build-sandbox-image.sh`."
        )
    if shutil.which("debootstrap") is None:
        raise SandboxUnavailableError(
            "debootstrap is not installed: run `apt-get install debootstrap` or `scripts/build-sandbox-image.sh`."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".building-{target.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    log(f"building the sandbox root filesystem with debootstrap (about a minute): {target}")
    result = subprocess.run(
        ["bash", str(RECIPE_SCRIPT), str(staging)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0 or not _complete(staging):
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join(result.stdout.strip().splitlines()[-15:])
        raise SandboxUnavailableError(
            f"debootstrap failed (exit {result.returncode}); its last lines:\n{tail}"
        )
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)  # atomic: a half-built tree never carries the final name
    _remove_old_rootfs(target, log)
    return target, True


def _remove_old_rootfs(current: Path, log: Log) -> None:
    for old in current.parent.glob("sandbox-rootfs-*"):
        if old != current and old.is_dir():
            log(f"removing the root filesystem of an older recipe: {old}")
            shutil.rmtree(old, ignore_errors=True)
    for leftover in current.parent.glob(".building-sandbox-rootfs-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(leftover, ignore_errors=True)


def import_image(client: Any, rootfs: Path, image: str, log: Log = print) -> None:
    """`tar -C rootfs -c . | docker import` with the recipe label, env, user and workdir."""
    repository, tag = _split_image(image)
    log(f"importing {rootfs} into Docker as {image}")
    tar = subprocess.Popen(
        ["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert tar.stdout is not None
    try:
        client.api.import_image_from_stream(
            tar.stdout, repository=repository, tag=tag, changes=_import_changes(recipe_hash())
        )
    finally:
        tar.stdout.close()
        _, err = tar.communicate()
    if tar.returncode != 0:
        raise SandboxUnavailableError(
            f"packing the root filesystem failed: {err.decode(errors='replace').strip()}"
        )
    if not image_is_current(client, image):
        raise SandboxUnavailableError(f"docker import did not produce {image} with recipe {recipe_hash()}.")


def build_from_dockerfile(client: Any, image: str, log: Log = print) -> None:
    """`docker build` of the Dockerfile (needs a Docker that can pull debian:bookworm-slim)."""
    log(f"building {image} from {DOCKERFILE} (pulls debian:bookworm-slim)")
    client.images.build(path=str(RECIPE_DIR), tag=image, labels={RECIPE_LABEL: dockerfile_hash()}, rm=True)


def docker_client() -> Any | None:
    """A client for the local Docker engine, or None if none answers."""
    try:
        import docker

        client = docker.from_env(timeout=30)
        client.ping()
        return client
    except Exception:  # any failure here means the same thing: no usable engine
        return None


def build_image(
    settings: SandboxSettings,
    force: bool = False,
    *,
    method: Literal["debootstrap", "dockerfile"] = "debootstrap",
    log: Log = print,
) -> BuildResult:
    """Build what the sandbox backends need, skipping what is already current.

    - the root filesystem (debootstrap; needs root) for the local backend and as the image source;
    - the Docker image `settings.image`, when a Docker engine answers.
    Raises `SandboxUnavailableError` with a sentence saying what to do when nothing could be built.
    """
    result = BuildResult()
    client = docker_client()
    if method == "dockerfile":
        if client is None:
            raise SandboxUnavailableError("no Docker engine answers: run `scripts/start-docker.sh` first.")
        if force or not image_is_current(client, settings.image):
            build_from_dockerfile(client, settings.image, log)
            result.image_built = True
        result.image = settings.image
        return result
    result.rootfs, result.rootfs_built = build_rootfs(force, log)
    if client is None:
        result.notes.append("no Docker engine answers, so only the local sandbox's root filesystem was built")
        return result
    if force or result.rootfs_built or not image_is_current(client, settings.image):
        import_image(client, result.rootfs, settings.image, log)
        result.image_built = True
    else:
        log(f"Docker image {settings.image} is current (recipe {recipe_hash()})")
    result.image = settings.image
    with contextlib.suppress(Exception):
        client.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agent_graph.sandbox.image", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when the recipe hash is unchanged")
    parser.add_argument("--dockerfile", action="store_true", help="docker build the Dockerfile (needs pulls)")
    parser.add_argument("--image", default=SandboxSettings().image, help="image name (default: %(default)s)")
    args = parser.parse_args(argv)
    settings = SandboxSettings(image=args.image)
    try:
        result = build_image(settings, args.force, method="dockerfile" if args.dockerfile else "debootstrap")
    except SandboxUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    for note in result.notes:
        print(note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
