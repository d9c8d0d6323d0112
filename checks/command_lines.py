"""The goal's command lines: how a program run as a process is called, as the goal writes it in
backticks (`python kv.py set KEY VALUE`, `node greet.js NAME`).

The tester's prompt shows them as calls of the skeleton's `run()` helper (`prompts.render`), and
the checks hold the tests to them (`checks.program_tests`): a test that runs the program only with
a number of arguments no command line of the goal takes (the skeleton's `'input.csv', 'out.json'`
for a script the goal says prints its result) tests a program nobody asked for.
"""

from __future__ import annotations

import re

# How a goal's command line starts in each language, and its program file's ending.
RUNNERS = {"python": ("python", "python3"), "node": ("node",)}
SOURCES = {"python": ".py", "node": ".js"}

# A word that leaves the number of arguments open: an optional part, a repetition, alternatives,
# or a shell operator (what follows it is not an argument). `<FILE>` is one argument.
_OPEN = re.compile(r"[\[\]{}|;&]|\.\.\.|^\d*>|^<(?![A-Za-z_])")


# An option named outside the command lines (`--top N`, `-v`): it adds arguments to one of them.
_OPTION = re.compile(r"(?:^|[\s`(\"'])--?[A-Za-z]")


def goal_commands(goal: str, language: str) -> list[tuple[str, list[str]]]:
    """Each distinct command line in backticks that runs a program of `language`: (the line as
    written, its words after the interpreter: the program file, then the arguments)."""
    found = []
    for span in dict.fromkeys(re.findall(r"`([^`\n]+)`", goal)):
        words = span.split()
        if len(words) >= 2 and words[0] in RUNNERS.get(language, ()) and words[1].endswith(SOURCES[language]):
            found.append((span, words[1:]))
    return found


def stated_arities(goal: str, language: str) -> tuple[list[str], set[int]] | None:
    """The goal's command lines and how many arguments each takes, when the goal states every one
    in full for one program; None when it states none, names several programs, leaves the number
    open in one (`[--top N]`, `FILE...`, `a|b`, `> out.txt`, `< in.txt`), or names an option
    outside them (`With --top N it also prints ...`)."""
    commands = goal_commands(goal, language)
    if not commands or len({words[0] for _, words in commands}) > 1:
        return None
    if any(_OPEN.search(word) for _, words in commands for word in words[1:]):
        return None
    rest = goal
    for span, _ in commands:
        rest = rest.replace(f"`{span}`", "")
    if _OPTION.search(rest):  # `With --top N it also prints ...`: an option added to a command line
        return None
    return [span for span, _ in commands], {len(words) - 1 for _, words in commands}
