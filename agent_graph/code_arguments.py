"""Forced tool calls whose arguments are code, for a model decoding under a grammar.

A local model writes a tool call's arguments under a grammar built from the tool's JSON schema.
In strict JSON a `"` inside a string must be escaped; a small model writing `print(f"…")` into
`write_file`'s `content` emits the bare quote, which the strict grammar takes as the end of the
string, and the file is cut there. For a tool whose arguments are all strings (the file tools),
this module builds a grammar in which a bare `"` may stay inside a string, and reads the answer
back leniently: a string ends only where the next argument's key or the object's closing brace
follows. The model still has to write the object's keys in order, so the answer stays one call.
"""

from __future__ import annotations

import json
import re
from typing import Any

# The JSON escapes a model means as JSON in code. Any other backslash pair (`\d`, `\w`, and `\b`
# or `\f`, never a backspace or a form feed in code) is the code's own, kept as written.
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "r": "\r", "t": "\t"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)

# A string's characters: JSON's, a bare double quote, a backslash before any character (a regular
# expression's `\d` written as code), and raw line breaks, at most two in a row (a model may begin
# a file with Python's `"""` and a line break; one free to write raw line breaks without end can run
# on with them to its token limit).
_STRING_BODY = "\n".join(
    [
        "string-body ::= ( string-char | line-break string-char )* line-break?",
        'string-char ::= [^"\\\\\\x7F\\x00-\\x1F] | "\\t" | "\\\\" [^\\x00-\\x1F\\x7F] | "\\""',
        'line-break ::= "\\n" "\\n"?',
    ]
)
_WS = 'ws ::= ( " " | "\\n" )?'


def takes_code(parameters: dict[str, Any]) -> bool:
    """Whether a tool's parameters are an object of string arguments only (the file tools)."""
    properties = parameters.get("properties")
    if parameters.get("type") != "object" or not isinstance(properties, dict) or not properties:
        return False
    return all(isinstance(spec, dict) and spec.get("type") == "string" for spec in properties.values())


def grammar(parameters: dict[str, Any]) -> str:
    """A GBNF grammar for one call's arguments: the keys in the schema's order (optional ones
    may be left out), each value a string that may hold bare double quotes or one of its enum."""
    names = list(parameters["properties"])
    required = set(parameters.get("required", []))
    optional = [name not in required for name in names]

    def reachable(start: int) -> list[int]:
        """The fields that may come next after field `start - 1` (skipping optional ones)."""
        found = []
        for index in range(start, len(names)):
            found.append(index)
            if not optional[index]:
                break
        return found

    def closes(start: int) -> bool:
        return all(optional[start:])

    rules = []
    opening = [f"field-{index}" for index in reachable(0)]
    if closes(0):
        opening.append('"}"')
    rules.append(f'root ::= "{{" ws ( {" | ".join(opening)} )')
    for index, name in enumerate(names):
        spec = parameters["properties"][name]
        key = json.dumps(json.dumps(name))
        if "enum" in spec:
            value = " | ".join(json.dumps(json.dumps(str(choice))) for choice in spec["enum"])
        else:
            value = '"\\"" string-body "\\""'
        after = [f'"," ws field-{later}' for later in reachable(index + 1)]
        if closes(index + 1):
            after.append('"}"')
        rules.append(f'field-{index} ::= {key} ws ":" ws ( {value} ) ws ( {" | ".join(after)} )')
    rules.extend([_STRING_BODY, _WS])
    return "\n".join(rules) + "\n"


def read_arguments(text: str, parameters: dict[str, Any]) -> dict[str, str] | None:
    """The arguments in an answer written under `grammar(parameters)`, or None if it holds none.

    A string runs to the first place where a later key follows (`", "path":`), or, for the last
    one, to the `"` before the brace that ends the answer; an answer cut off before its end keeps
    what it has, as a truncated strict-JSON answer would (the caller's checks find the file cut off).
    """
    names = list(parameters["properties"])
    body = text.strip()
    if not body.startswith("{"):
        return None
    values: dict[str, str] = {}
    position = 1
    expected = 0
    while expected < len(names):
        key = re.compile(r'\s*,?\s*"(' + "|".join(re.escape(n) for n in names[expected:]) + r')"\s*:\s*"')
        found = key.match(body, position)
        if not found:
            break
        name = found.group(1)
        expected = names.index(name) + 1
        start = found.end()
        end = _string_end(body, start, names[expected:])
        values[name] = _unescape(_without_triple_quotes(body[start:end]))
        position = end + 1
        if end == len(body):
            break
    return values or None


def _string_end(body: str, start: int, later: list[str]) -> int:
    """Where the string that begins at `start` ends: before the next later key, else before the
    brace that ends the answer, else (cut off) at the end of the answer."""
    if later:
        next_key = re.compile(r'"\s*,\s*"(?:' + "|".join(re.escape(n) for n in later) + r')"\s*:')
        found = next_key.search(body, start)
        if found:
            return found.start()
    closing = re.search(r'"\s*}\s*$', body[start:])
    return start + closing.start() if closing else len(body)


# A value the model delimited with Python's triple double quotes: "content": """\n…\n"""}
_TRIPLE_QUOTED = re.compile(r'""(?:\\n|\n)(.*?)(?:\\n|\n)?""\s*', re.DOTALL)


def _without_triple_quotes(raw: str) -> str:
    """A value the model wrote as a Python triple-quoted string, without those quotes: they
    delimit the file, they are not part of it. A file that begins with a docstring (three quotes
    inside the value) is left alone."""
    found = _TRIPLE_QUOTED.fullmatch(raw)
    return found.group(1) + "\\n" if found else raw


def _unescape(raw: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 5:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, match.group(0))

    return _ESCAPE.sub(replace, raw)
