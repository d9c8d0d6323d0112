"""Goals the agent cannot take to green, refused before a run starts with one sentence (exit 2).

Generated code runs with no network, so a program whose job is to fetch from the internet at run
time can never pass a test that exercises it. The check is deliberately narrow: a fetching verb
aimed at a remote address or at "the internet/web"; a URL that is only data (a URL shortener's
input) or a local server is fine.
"""

from __future__ import annotations

import re

from agent_graph.errors import UserInputError

_FETCH = r"\b(?:fetch|download|scrape|crawl|pull|retrieve|stream)\w*\b"
_REMOTE_URL = r"https?://(?!localhost\b|127\.|0\.0\.0\.0\b|\[::1\])[\w.-]+\.[a-z]{2,}\S*"
_ONLINE = r"\bfrom (?:the )?(?:internet|web|online)\b"
_NEEDS_NETWORK = re.compile(rf"{_FETCH}[^.\n]{{0,80}}?(?:{_REMOTE_URL}|{_ONLINE})", re.IGNORECASE)


def check_goal(goal: str) -> None:
    """Raise `UserInputError` when the goal needs network access at run time."""
    found = _NEEDS_NETWORK.search(goal)
    if found:
        raise UserInputError(
            f"the goal needs network access at run time ({found.group(0)!r}), but generated code runs with "
            "no network; give the data as a file or describe the service the program should serve instead."
        )
