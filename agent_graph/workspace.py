"""A task's workspace folder and the file tools the coder uses on it.

Every path is checked before use: relative, inside the workspace after resolving symlinks,
no parent-directory escapes. Refusals are errors the tool reports back to the model.
"""

from __future__ import annotations

import os
from pathlib import Path

# Folders the file tools never list (caches, dependency trees, our own bookkeeping).
_HIDDEN = {"__pycache__", "node_modules", ".pytest_cache", ".hypothesis", ".agent-graph", ".git"}


class PathRefusedError(ValueError):
    """A path points outside the workspace."""


class Workspace:
    """The folder holding one task's code and tests."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, relative: str) -> Path:
        """The absolute path for `relative`, or `PathRefusedError` if it would leave the workspace."""
        if not relative or relative.strip() != relative:
            raise PathRefusedError(f"path {relative!r} is empty or has surrounding spaces.")
        candidate = Path(relative)
        if candidate.is_absolute() or relative.startswith("~"):
            raise PathRefusedError(f"path {relative!r} is absolute; use a path relative to the workspace.")
        if ".." in candidate.parts:
            raise PathRefusedError(f"path {relative!r} leaves the workspace.")
        full = (self.root / candidate).resolve()  # follows symlinks: a link pointing out is caught here
        if full != self.root and self.root not in full.parents:
            raise PathRefusedError(f"path {relative!r} resolves outside the workspace.")
        return full

    def write(self, relative: str, content: str) -> str:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        return f"wrote {relative} ({len(content)} characters)"

    def read(self, relative: str) -> str:
        target = self.path(relative)
        if not target.is_file():
            raise PathRefusedError(f"{relative} is not a file in the workspace.")
        return target.read_text(encoding="utf-8", errors="replace")

    def list(self) -> list[str]:
        found: list[str] = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in _HIDDEN)
            for name in sorted(files):
                found.append(str((Path(folder) / name).relative_to(self.root)))
        return found

    def sync(self, files: dict[str, str]) -> None:
        """Make the workspace hold exactly `files` (plus untracked extras left alone)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for relative, content in files.items():
            target = self.path(relative)
            if not target.is_file() or target.read_text(encoding="utf-8", errors="replace") != content:
                self.write(relative, content)
