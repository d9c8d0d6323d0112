"""String literals a line break splits, joined again: the repair any language's answers need.

A model writing code into a tool call's JSON string means the language's `'\\n'` but often writes
JSON's line break escape, which decodes to a real line break: the file then holds `split('` and
`')` on two lines and does not parse. Each language says when its code parses and which line holds
the start of a split string; the loop here is the same for all.
"""

from __future__ import annotations

from collections.abc import Callable


def with_line_breaks_escaped(
    source: str,
    parses: Callable[[str], bool],
    split_string_line: Callable[[str], int | None],
    limit: int = 20,
) -> str:
    """`source` with `\\n` in place of each line break that splits a one-line string literal, if
    that makes it parse; else `source` as it is.

    `split_string_line(code)` is the 1-based line where the language's parser finds a string
    literal cut by the end of the line, or None for any other error. A string still open on the
    last line is a cut-off answer, not a split one, so the source is left as it is.
    """
    joined = source
    for _ in range(limit):
        if parses(joined):
            return joined
        line = split_string_line(joined)
        lines = joined.split("\n")
        if line is None or not 1 <= line < len(lines):
            return source
        index = line - 1
        joined = "\n".join([*lines[:index], lines[index] + "\\n" + lines[index + 1], *lines[index + 2 :]])
    return source
