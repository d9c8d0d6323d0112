"""requirements.lock, what setup.sh and CI install, covers pyproject.toml and agrees with its ranges.

A dependency added to pyproject.toml without `scripts/lock.sh` would install at whatever version
the index offers that day: this test fails first and says which package.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = Version(version)
    return pins


def installed_requirements() -> list[Requirement]:
    """pyproject's dependencies plus those of the extras setup.sh installs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = re.search(r"^extras=(\S+)$", (ROOT / "scripts" / "setup.sh").read_text(), re.MULTILINE)
    assert found, "scripts/setup.sh names its extras on one `extras=` line (scripts/lock.sh reads it)"
    extras = found.group(1).split(",")
    texts = list(project["dependencies"])
    for extra in extras:
        texts += project["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


def test_every_dependency_is_pinned_within_its_range() -> None:
    pins = locked()
    for requirement in installed_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock; run scripts/lock.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject's {requirement}; run scripts/lock.sh"
        )


def test_setup_installs_from_the_lock_and_reinstalls_when_it_changes() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert '-c requirements.lock -e ".[$extras]"' in setup
    stamp = re.search(r"^want=(.*)$", setup, re.MULTILINE)
    assert stamp and "requirements.lock" in stamp.group(1) and "pyproject.toml" in stamp.group(1)
    torch = re.search(r"^torch_pin=torch==(\S+)$", setup, re.MULTILINE)
    assert torch and locked()["torch"] == Version(torch.group(1))
