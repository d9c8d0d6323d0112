"""Install a task's approved packages into its own folder, which the test runs mount read-only.

Where the network is: the test runs never get any (`network_mode=none`, bubblewrap's empty
network namespace). The install is a separate step that runs *on the host*, with pip and npm
as the host has them configured, because the host alone can reach the package registries. An
installer container with network writing into a Docker volume was the other choice, and was
set aside: no image can be pulled here, the sandbox image has neither pip nor npm, the local
backend has no Docker at all, and the registries (with the local wheel mirrors pip.conf names)
are reached through the host's own client configuration.

Running an installer on the host is only safe if no package code runs during the install, so:

- pip installs wheels only (`--only-binary :all:`, dependencies included): a wheel is unpacked,
  never executed, while an sdist would run its build backend (setup.py) on the host. The wheels
  are chosen for the sandbox's interpreter (`--python-version`, `--abi`, `--platform` from a
  probe of the sandbox), not for the host's.
- npm runs with `--ignore-scripts`: no install/postinstall hook of any package runs. Packages
  that need a native build therefore do not work; pure JavaScript ones do.
- Names and versions are checked against the registry forms (no URLs, paths, git or `file:`
  specifiers, nothing that starts with `-`), so an approval cannot smuggle in a host path.
- The installer's environment is PATH, HOME, locale, proxy/CA settings and pip's or npm's own
  variables: no API keys or DATABASE_URL, whatever the agent's process holds.

Layout of a task's folder (mounted at /opt in the sandbox, see `runners.DEPENDENCY_ENV`):
`python/` (pip `--target`), `node/node_modules/` (npm `--prefix node`), and `installed.json`,
the manifest of what is there. Each ecosystem's set is installed into a staging folder and
swapped in by rename, so a run never sees a half-installed set, and installing the same set
again is a no-op (resume after a crash, a second approval of the same package). `PYTHONPATH`
comes before the image's own packages, so a distribution the image already has is not
installed again unless a version is asked for: pytest and hypothesis keep the copies they
were built with.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent_graph.sandbox.base import Sandbox
from agent_graph.sandbox.findings import Ecosystem
from agent_graph.sandbox.runners import NODE_DEPENDENCIES, PYTHON_DEPENDENCIES

MANIFEST = "installed.json"
STAGING = ".staging"  # next to the task folders, on the same file system, so a rename swaps a set in
DEFAULT_TIMEOUT_SECONDS = 300.0
OUTPUT_TAIL = 4000  # characters of installer output kept for the error message

_FOLDERS: dict[Ecosystem, str] = {"python": PYTHON_DEPENDENCIES, "node": NODE_DEPENDENCIES}
_PYTHON_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_PYTHON_SPEC = re.compile(
    r"^(?:===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+(?:\s*,\s*(?:===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+)*$"
)
_NODE_NAME = re.compile(r"^(?:@[a-z0-9~][a-z0-9._~-]*/)?[a-z0-9~][a-z0-9._~-]*$")
_NODE_SPEC = re.compile(
    r"^[A-Za-z0-9.^~<>=|*+ -]+$"
)  # ranges and dist-tags; no ':' or '/' (URLs, paths, git)
_PASSED_ENV = (
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
)  # fmt: skip
_PASSED_PREFIXES = ("PIP_", "npm_config_", "NPM_CONFIG_")

# Run inside the sandbox: its interpreter, and which of the named distributions it already has.
_PROBE = """
import platform, sys
from importlib import metadata
present = []
for name in sys.argv[1:]:
    try:
        metadata.distribution(name)
        present.append(name)
    except Exception:
        pass
print("%d.%d" % sys.version_info[:2], platform.libc_ver()[1] or "-", platform.machine(), *present)
"""


class DependencyInstallError(RuntimeError):
    """The approved packages could not be installed; the message is one sentence for the coder."""


@dataclass(frozen=True)
class Requirement:
    """One approved package: its ecosystem, registry name and version specifier ("" for any)."""

    ecosystem: Ecosystem
    name: str
    version: str = ""

    def spec(self) -> str:
        """What the installer is given: `toolz>=1`, `lodash@^4.17.21`; raises for a non-registry form."""
        version = self.version.strip()
        if version == "*":
            version = ""
        if self.ecosystem == "python":
            if not _PYTHON_NAME.match(self.name):
                raise DependencyInstallError(f"{self.name!r} is not a Python package name pip can install.")
            if version and not _PYTHON_SPEC.match(version):
                raise DependencyInstallError(
                    f"the version {version!r} of {self.name} is not a pip version specifier (like '>=1.2'); "
                    "declare the package without it or with one."
                )
            return f"{self.name}{version.replace(' ', '')}"
        if not _NODE_NAME.match(self.name):
            raise DependencyInstallError(f"{self.name!r} is not an npm package name.")
        if version and (not _NODE_SPEC.match(version) or version.startswith("-")):
            raise DependencyInstallError(
                f"the version {version!r} of {self.name} is not an npm version range (like '^4.17.0'); "
                "declare a registry version, not a URL, path or git reference."
            )
        return f"{self.name}@{version}" if version else self.name


@dataclass(frozen=True)
class TargetPython:
    """The sandbox's interpreter, for which pip picks wheels (the host's may differ)."""

    version: str  # "3.11"
    glibc: str  # "2.36"; "" when not glibc
    machine: str  # "x86_64"

    def pip_args(self) -> list[str]:
        major, minor = self.version.split(".")[:2]
        args = [
            "--python-version",
            f"{major}.{minor}",
            "--implementation",
            "cp",
            "--abi",
            f"cp{major}{minor}",
        ]
        for platform in self.platforms():
            args += ["--platform", platform]
        return args

    def platforms(self) -> list[str]:
        """Every manylinux tag the sandbox's glibc accepts (pip does not expand `manylinux_2_X` itself)."""
        if not self.glibc:
            return [f"linux_{self.machine}"]
        glibc_major, glibc_minor = (int(part) for part in self.glibc.split(".")[:2])
        tags = [f"manylinux_{glibc_major}_{minor}_{self.machine}" for minor in range(glibc_minor, 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        tags += [f"{name}_{self.machine}" for minor, name in legacy.items() if glibc_minor >= minor]
        return [*tags, f"linux_{self.machine}"]


def probe_python(sandbox: Sandbox, distributions: Iterable[str] = ()) -> tuple[TargetPython, set[str]]:
    """The sandbox's Python, and which of `distributions` it already provides (installed in the image).

    The probe runs with `-E`: the task's own folder, on PYTHONPATH, is what the install replaces,
    so a package found only there is no reason to leave it out of the new set.
    """
    names = sorted({n for n in distributions if _PYTHON_NAME.match(n)})
    with tempfile.TemporaryDirectory(prefix="agent-graph-probe-") as empty:
        result = sandbox.execute(["python3", "-E", "-c", _PROBE, *names], Path(empty), timeout_seconds=60)
    fields = result.stdout.split()
    if result.exit_code != 0 or len(fields) < 3 or not re.match(r"^\d+\.\d+$", fields[0]):
        raise DependencyInstallError(
            f"could not tell which Python the sandbox runs (exit {result.exit_code}); "
            "check `agent-graph sandbox doctor`."
        )
    glibc = "" if fields[1] == "-" else fields[1]
    return TargetPython(fields[0], glibc, fields[2]), set(fields[3:])


def _manifest(folder: Path) -> dict[str, dict[str, list[str]]]:
    """ecosystem -> {"requested": specs approved, "installed": specs pip or npm was given}."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(ecosystem): {str(k): [str(s) for s in v] for k, v in entry.items() if isinstance(v, list)}
        for ecosystem, entry in data.items()
        if isinstance(entry, dict)
    }


def installed(folder: Path) -> list[str]:
    """What a task's folder holds, as `ecosystem:spec` (its own record; [] when nothing)."""
    return sorted(
        f"{ecosystem}:{spec}"
        for ecosystem, entry in _manifest(folder).items()
        for spec in entry.get("installed", [])
    )


def _specs(requirements: Iterable[Requirement], ecosystem: Ecosystem) -> list[str]:
    return sorted({r.spec() for r in requirements if r.ecosystem == ecosystem})


def needs_install(folder: Path, ecosystem: Ecosystem, requirements: Sequence[Requirement]) -> bool:
    """False when the folder already holds this set (the same approvals, installed before)."""
    entry = _manifest(folder).get(ecosystem, {})
    specs = _specs(requirements, ecosystem)
    if entry.get("requested", []) != specs:
        return True
    return bool(entry.get("installed")) and not (folder / _FOLDERS[ecosystem]).is_dir()


def install(
    folder: Path,
    ecosystem: Ecosystem,
    requirements: Sequence[Requirement],
    *,
    target: TargetPython | None = None,
    provided: Iterable[str] = (),
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> list[str]:
    """Make `folder` hold exactly `requirements` for `ecosystem` (and what they depend on).

    `target` is the sandbox's Python (see `probe_python`; None installs for the host's), and
    `provided` names distributions the sandbox image already has: a requirement on one of them
    without a version is left to the image rather than shadowed by a second copy. Returns the
    specs given to the installer. Nothing runs when `needs_install` is False. Raises
    `DependencyInstallError` with one sentence when the installer fails or times out.
    """
    requested = _specs(requirements, ecosystem)
    if not needs_install(folder, ecosystem, requirements):
        return _manifest(folder).get(ecosystem, {}).get("installed", [])
    have = {_normalize(name) for name in provided}
    specs = _specs(
        [r for r in requirements if r.version.strip() not in ("", "*") or _normalize(r.name) not in have],
        ecosystem,
    )
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    staging_root = folder.parent / STAGING
    staging_root.mkdir(exist_ok=True)
    staging = staging_root / f"{folder.name}-{ecosystem}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        if specs and ecosystem == "python":
            _run("pip", _pip_command(staging, specs, target), specs, timeout_seconds)
        elif specs:
            _run("npm", _npm_command(staging, specs), specs, timeout_seconds)
        _open_for_reading(staging)
        _swap_in(staging, folder / _FOLDERS[ecosystem], keep=bool(specs))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = _manifest(folder)
    manifest[ecosystem] = {"requested": requested, "installed": specs}
    _write_manifest(folder, {k: v for k, v in manifest.items() if v["requested"]})
    return specs


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def remove_if_empty(folder: Path) -> None:
    """Drop a task's folder that never received a package (most tasks need none)."""
    with contextlib.suppress(OSError):
        folder.rmdir()


# --- the installers -------------------------------------------------------------------------


def _pip_command(staging: Path, specs: list[str], target: TargetPython | None) -> list[str]:
    pip = [sys.executable, "-m", "pip"]
    if not _has_module("pip"):
        found = shutil.which("pip3") or shutil.which("pip")
        if found is None:
            raise DependencyInstallError(
                "pip is not available to install the approved Python packages; install it (apt-get install python3-pip)."
            )
        pip = [found]
    return [
        *pip, "install",
        "--target", str(staging),
        "--only-binary", ":all:",  # wheels only: no package's build script ever runs on the host
        "--no-input", "--disable-pip-version-check", "--no-warn-script-location",
        "--progress-bar", "off", "--quiet",
        *(target.pip_args() if target is not None else []),
        "--", *specs,
    ]  # fmt: skip


def _npm_command(staging: Path, specs: list[str]) -> list[str]:
    npm = shutil.which("npm")
    if npm is None:
        raise DependencyInstallError(
            "npm is not available to install the approved Node.js packages; install it (apt-get install npm)."
        )
    # A package.json of its own, or npm would look for a project in the folders above.
    (staging / "package.json").write_text('{"private": true}\n', encoding="utf-8")
    return [
        npm, "install",
        "--prefix", str(staging),
        "--ignore-scripts",  # no install hook of any package runs on the host
        "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--no-update-notifier",
        "--bin-links=false", "--omit=dev", "--loglevel=error",
        "--", *specs,
    ]  # fmt: skip


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def installer_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The installer's environment: what pip and npm need to reach the registries, nothing else."""
    env = dict(os.environ if environ is None else environ)
    kept = {k: v for k, v in env.items() if k in _PASSED_ENV or k.startswith(_PASSED_PREFIXES)}
    kept.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return kept


def _run(tool: str, command: list[str], specs: list[str], timeout_seconds: float) -> None:
    with tempfile.TemporaryFile() as output:
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=installer_env(),
                cwd=tempfile.gettempdir(),  # not the agent's folder: npm and pip read config from the cwd
                start_new_session=True,  # so a timeout can end the installer's children too
            )
        except OSError as exc:
            raise DependencyInstallError(
                f"could not start {tool} to install {', '.join(specs)} ({exc})."
            ) from exc
        try:
            code = proc.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise DependencyInstallError(
                f"installing {', '.join(specs)} took longer than {timeout_seconds:g} s and was stopped; "
                "try again, or write the code without them."
            ) from None
        if code != 0:
            output.seek(0)
            tail = output.read().decode("utf-8", "replace")[-OUTPUT_TAIL:]
            reason = _last_error(tail) or f"exit code {code}"
            raise DependencyInstallError(
                f"{tool} could not install {', '.join(specs)} ({reason}); "
                "check the names and versions, or write the code without them."
            )


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("ERROR", "npm ERR!", "npm error"))]
    return (errors or lines or [""])[-1][:300]


# --- the folder -----------------------------------------------------------------------------


def _open_for_reading(root: Path) -> None:
    """Readable by the sandbox user (another uid), writable by nobody but the host, no setuid bits."""
    for folder, _dirs, files in os.walk(root):
        Path(folder).chmod(0o755)
        for name in files:
            path = Path(folder) / name
            if path.is_symlink():
                continue  # a link's own mode means nothing; it resolves inside the sandbox
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)


def _swap_in(staging: Path, final: Path, *, keep: bool) -> None:
    """Replace `final` by `staging` with renames; only an instant passes with neither in place."""
    old = staging.with_name(staging.name + "-old")
    if final.exists():
        final.rename(old)
    if keep:
        staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _write_manifest(folder: Path, manifest: dict[str, dict[str, list[str]]]) -> None:
    temporary = folder / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.chmod(0o644)
    temporary.replace(folder / MANIFEST)
