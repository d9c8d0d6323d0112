"""The short unified diff stored as a failure's fix: what changed from a failing to a passing iteration."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

# A hint in a prompt, not a patch to apply: a few dozen lines say what the fix was.
MAX_LINES = 60


def short_diff(
    before: Mapping[str, str], after: Mapping[str, str], context: int = 2, max_lines: int = MAX_LINES
) -> str:
    """A unified diff of the files that changed (path -> content), cut to `max_lines` with a note.

    Test files are diffed too: a fix that changed the test says something about the failure as well.
    """
    lines: list[str] = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path, ""), after.get(path, "")
        if old == new:
            continue
        lines.extend(
            difflib.unified_diff(
                old.splitlines(),
                new.splitlines(),
                fromfile=f"a/{path}" if path in before else "/dev/null",
                tofile=f"b/{path}" if path in after else "/dev/null",
                n=context,
                lineterm="",
            )
        )
    if len(lines) > max_lines:
        dropped = len(lines) - max_lines
        lines = [*lines[:max_lines], f"... ({dropped} more diff lines)"]
    return "\n".join(lines)
