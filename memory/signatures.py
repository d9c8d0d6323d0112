"""Error signatures: what a failure *is*, with the incidental details masked.

Two runs that fail the same way should produce the same signature even when the temp path, line
number, object address or offending value differ, so that the memory finds them as one kind of
failure. Pure functions only: no I/O, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_MESSAGE = 300

PATH = "<path>"
NUMBER = "<n>"
ADDRESS = "<addr>"
LITERAL = "<str>"
URL = "<url>"

# Quoted literals: '...' or "..." on one line. A quote inside a word (don't) is not an opening quote.
_QUOTED = re.compile(r"""(?<![\w>])'[^'\n]*'|"[^"\n]*"|`[^`\n]*`""")
# Hex addresses (0x7f3a...) and long hex ids (git hashes, uuids' parts) that carry no meaning.
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")
# URLs, before paths: their `//host:port/...` would otherwise split into several placeholders.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"`<>]+")
# File paths: absolute, home-relative, Windows, or relative with a folder; with any :line[:col] suffix.
_PATH = re.compile(
    r"""(?<![\w.>-])(?:"""
    r"""(?:[A-Za-z]:\\|~?/|\.{1,2}/)[^\s'"`:,;()<>\[\]]*"""  # /abs, ~/x, ./x, ../x, C:\x
    r"""|[\w.-]+(?:/[\w.-]+)+"""  # pkg/mod.py, node_modules/x/y.js
    r"""|[\w.-]+\.(?:py|js|mjs|cjs|ts|json|txt|csv|toml|yaml|yml)\b"""  # a bare file name
    r""")(?::\d+\b)*"""
)
# Numbers not inside identifiers: `42`, `-3.5`, `1e-9`, `1.2.3`, with a short unit (`0.01s`, `12ms`, `5%`),
# but not `int64`, `utf8` or `test_2`.
_NUMBER = re.compile(r"(?<![\w.>])[-+]?\d+(?:\.\d+)*(?:[eE][-+]?\d+)?(?:[A-Za-z]{1,3}\b|%)?(?!\.?[\w<])")
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"(<(?:path|n|addr|str|url)>)(?:[\s,]*\1)+")
# Pytest parametrisation ids in test names: test_x[1-2].
_PARAMS = re.compile(r"\[.*\]$")

# An exception line: `ZeroDivisionError: division by zero`, `E   KeyError: 'x'`,
# `AssertionError [ERR_ASSERTION]: ...` (node), `requests.exceptions.HTTPError: ...`.
_EXCEPTION_LINE = re.compile(
    r"^\s*(?:E\s+)?(?:Uncaught\s+)?"
    r"(?P<type>(?:[A-Za-z_][\w]*\.)*(?:[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning|Failure)"
    r"|StopIteration|KeyboardInterrupt|Failed))"
    r"(?:\s\[[A-Z_]+\])?(?::\s*(?P<message>.*))?\s*$"
)
# pytest's repetition of a failed plain assert: `assert None == 1`, `E       assert 3 == 4`.
_ASSERT_LINE = re.compile(r"^\s*(?:E\s+|>\s+)?(?P<expr>assert\s.+)$")
# pytest's short summary: `FAILED tests/test_a.py::test_b - ZeroDivisionError: division by zero`.
_PYTEST_SUMMARY = re.compile(r"^(?:FAILED|ERROR)\s+(?P<test>\S+)(?:\s+-\s+(?P<rest>.*))?$")


@dataclass(frozen=True)
class ErrorSignature:
    """An exception type, its masked message and the failing test: the identity of a failure."""

    error_type: str
    message: str
    failing_test: str = ""

    @property
    def text(self) -> str:
        """One line for storage and embedding, e.g. `ZeroDivisionError: division by zero`."""
        if self.error_type and self.message:
            return f"{self.error_type}: {self.message}"
        return self.error_type or self.message


def mask_message(message: str) -> str:
    """Mask quoted literals, URLs, hex addresses, paths and numbers; collapse whitespace; cap the length.

    Idempotent: masking a masked message changes nothing.
    """
    # Whitespace first: collapsing it later could join pieces into new matches.
    text = _SPACES.sub(" ", message).strip()
    text = _QUOTED.sub(LITERAL, text)
    text = _URL.sub(URL, text)
    # Paths before addresses: a folder named like a hex id (`/tmp/0000000a/x.py`) is part of a path.
    text = _PATH.sub(PATH, text)
    text = _HEX.sub(ADDRESS, text)
    text = _NUMBER.sub(NUMBER, text)
    # `[1, 2, 3]` says no more than `[<n>]`.
    text = _REPEATS.sub(r"\1", text)
    return text[:MAX_MESSAGE].rstrip()


def normalise_test_name(test: str) -> str:
    """A test's name without folders or parameters: `tests/test_a.py::test_b[3]` -> `test_a.py::test_b`."""
    test = _SPACES.sub(" ", test).strip()
    if not test:
        return ""
    head, sep, tail = test.partition("::")
    if sep:
        head = head.replace("\\", "/").rsplit("/", 1)[-1]
        test = f"{head}::{tail}"
    return _PARAMS.sub("", test).strip()


def short_type(error_type: str) -> str:
    """`requests.exceptions.HTTPError` -> `HTTPError`: the module path adds nothing to similarity."""
    return error_type.strip().rsplit(".", 1)[-1]


def make_signature(error_type: str, message: str, failing_test: str = "") -> ErrorSignature:
    """Build a signature from parts already separated (e.g. a test report's failure)."""
    return ErrorSignature(short_type(error_type), mask_message(message), normalise_test_name(failing_test))


def parse_exception_line(line: str) -> tuple[str, str] | None:
    """`(type, message)` if the line states an exception, else None."""
    match = _EXCEPTION_LINE.match(line)
    if match is None:
        return None
    return match.group("type"), (match.group("message") or "").strip()


def extract_signature(output: str, failing_test: str = "") -> ErrorSignature:
    """The signature of the last exception stated in a traceback or test runner output.

    pytest's `FAILED path::test - Type: message` summary gives both test and exception; otherwise the
    last exception line wins (a traceback ends with the one that was raised). With no exception line
    at all, the last non-empty line stands in as the message, with an empty type.
    """
    test = failing_test
    found: tuple[str, str] | None = None
    assertion = ""  # pytest states a failed plain `assert` by repeating it, with no exception line
    last_line = ""
    for raw in output.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        last_line = line.strip()
        plain_assert = _ASSERT_LINE.match(line)
        if plain_assert and not assertion:
            assertion = plain_assert.group("expr")
        summary = _PYTEST_SUMMARY.match(line.strip())
        if summary is not None:
            test = test or summary.group("test")
            rest = summary.group("rest") or ""
            found = parse_exception_line(rest) or found
            continue
        found = parse_exception_line(line) or found
    if found is None and assertion:
        return make_signature("AssertionError", assertion, test)
    if found is None:
        return make_signature("", last_line, test)
    if found[0].endswith("AssertionError") and not found[1] and assertion:
        return make_signature(found[0], assertion, test)
    return make_signature(found[0], found[1], test)


# Failures that only say a value was not the one a test expected: a failed assertion (pytest's
# `assert <n> == <n>`, node's `AssertionError [ERR_ASSERTION]: ...`) or an expected exception that was
# not raised (pytest's `Failed: DID NOT RAISE <class <str>>`).
_VALUE_MISMATCH = re.compile(r"^(?:assert\s|AssertionError\b|Failed: DID NOT RAISE\b)")


def is_value_mismatch(signature: str) -> bool:
    """True for a failure that says *what* was wrong (a value the test did not expect), not *why*.

    Such a failure is about one task's behaviour: another task's `assert <n> == <n>` is no evidence
    about this one, however alike the masked texts are. Such hints come from unrelated tasks, and
    a small model's reflector copies their diagnoses as its own.
    """
    return _VALUE_MISMATCH.match(signature.strip()) is not None


def failure_text(signature: ErrorSignature | str, failing_test: str = "", code_excerpt: str = "") -> str:
    """The text embedded for a failure, and the query text to find it: the same shape on both sides.

    The signature leads; the test name and a few lines of code around the failure add context (e.g.
    `return sum(xs) / len(xs)` for a ZeroDivisionError) without drowning it.
    """
    if isinstance(signature, ErrorSignature):
        failing_test = failing_test or signature.failing_test
        signature = signature.text
    parts = [signature]
    if failing_test:
        parts.append(f"in test {failing_test}")
    excerpt = "\n".join(line.rstrip() for line in code_excerpt.strip().splitlines()[:12])
    if excerpt:
        parts.append(excerpt)
    return "\n".join(parts)
