"""Error signatures: masking properties (hypothesis) and parsing of real runner output."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent_graph.memory.diffs import short_diff
from agent_graph.memory.signatures import (
    ErrorSignature,
    extract_signature,
    failure_text,
    is_value_mismatch,
    mask_message,
    normalise_test_name,
)

segments = st.lists(
    st.text(string.ascii_lowercase + string.digits + "_", min_size=1, max_size=8), min_size=1, max_size=5
)
plain_words = st.text(string.ascii_letters + " ", min_size=1, max_size=30)


# Pieces that make the masking rules meet each other: placeholders, paths, numbers, quotes, units.
pieces = st.sampled_from(
    [
        *"ab01x.:/'\"`<>[], -_~Ee%s\n\\fF9+",
        "0x",
        "http://",
        "<n>",
        "<str>",
        "<path>",
        ".py",
        "C:\\",
        "deadbeef1",
        "ms",
    ]
)
messages = st.text(max_size=200) | st.lists(pieces, max_size=40).map("".join)


@settings(max_examples=500)
@given(messages)
def test_masking_is_idempotent(text: str) -> None:
    once = mask_message(text)
    assert mask_message(once) == once


@given(st.integers(), st.integers())
def test_numbers_do_not_change_the_signature(a: int, b: int) -> None:
    assert mask_message(f"list index {a} out of range") == mask_message(f"list index {b} out of range")
    assert mask_message(f"list index {a} out of range") == "list index <n> out of range"


@given(segments, st.sampled_from(["py", "js", "txt"]), st.integers(min_value=1, max_value=10_000))
@example(["0000000a"], "py", 1)  # a folder that looks like a hex address
def test_paths_and_line_numbers_are_masked(parts: list[str], ext: str, line: int) -> None:
    path = "/tmp/" + "/".join(parts) + f".{ext}"
    assert mask_message(f"cannot open {path}:{line} for reading") == "cannot open <path> for reading"


@given(st.integers(min_value=0, max_value=2**64), st.integers(min_value=0, max_value=2**64))
def test_addresses_do_not_change_the_signature(a: int, b: int) -> None:
    template = "'<' not supported between instances of Foo at 0x{:x} and Bar"
    assert mask_message(template.format(a)) == mask_message(template.format(b))


@given(plain_words, plain_words)
def test_quoted_literals_are_masked(a: str, b: str) -> None:
    assert mask_message(f"KeyError: '{a}'") == mask_message(f'KeyError: "{b}"') == "KeyError: <str>"


@given(st.text(max_size=2000))
def test_messages_are_capped(text: str) -> None:
    assert len(mask_message(text)) <= 300


def test_identifiers_with_digits_are_kept() -> None:
    assert mask_message("int64 overflow in test_2 using utf8") == "int64 overflow in test_2 using utf8"
    assert mask_message("expected 3 got 4.5e-3") == "expected <n> got <n>"
    assert mask_message("values [1, 2, 3] differ") == "values [<n>] differ"


def test_pytest_output_gives_type_message_and_test() -> None:
    output = """\
    def test_mean_empty():
>       assert mean([]) == 0.0
/tmp/ws/3f2a/stats.py:2: in mean
    return sum(xs) / len(xs)
E   ZeroDivisionError: division by zero
=========================== short test summary info ============================
FAILED tests/unit/test_stats.py::test_mean_empty[empty-list] - ZeroDivisionError: division by zero
"""
    sig = extract_signature(output)
    assert sig == ErrorSignature("ZeroDivisionError", "division by zero", "test_stats.py::test_mean_empty")
    assert sig.text == "ZeroDivisionError: division by zero"


def test_the_last_exception_of_a_traceback_wins_and_is_masked() -> None:
    output = """\
Traceback (most recent call last):
  File "/home/u/app/config.py", line 12, in load
    return data["user_id"]
KeyError: 'user_id'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/home/u/app/main.py", line 3, in <module>
requests.exceptions.HTTPError: 404 Client Error for url: http://localhost:8000/items/17
"""
    sig = extract_signature(output, failing_test="tests/test_main.py::test_get")
    assert sig.error_type == "HTTPError"
    assert sig.message == "<n> Client Error for url: <url>"
    assert sig.failing_test == "test_main.py::test_get"


def test_node_output() -> None:
    output = """\
✖ lists items (1.2ms)
  TypeError: Cannot read properties of undefined (reading 'map')
      at list (/tmp/ws/todo.js:12:18)
      at TestContext.<anonymous> (/tmp/ws/todo.test.js:8:3)
✖ compares (0.4ms)
  AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:
"""
    assert extract_signature(output) == ErrorSignature(
        "AssertionError", "Expected values to be strictly equal:", ""
    )
    first = extract_signature(output.split("✖ compares")[0], failing_test="lists items")
    assert first.text == "TypeError: Cannot read properties of undefined (reading <str>)"


def test_output_without_an_exception_keeps_its_last_line() -> None:
    sig = extract_signature("collected 0 items\n\nno tests ran in 0.01s\n")
    assert sig == ErrorSignature("", "no tests ran in <n>", "")
    assert sig.text == "no tests ran in <n>"


def test_test_names_lose_folders_and_parameters() -> None:
    assert normalise_test_name("tests/a/test_x.py::TestY::test_z[1-2]") == "test_x.py::TestY::test_z"
    assert normalise_test_name("C:\\w\\tests\\test_x.py::test_z") == "test_x.py::test_z"
    assert normalise_test_name("  lists items ") == "lists items"


def test_failure_text_has_the_same_shape_for_storage_and_query() -> None:
    sig = ErrorSignature("ZeroDivisionError", "division by zero", "test_stats.py::test_mean_empty")
    text = failure_text(sig, code_excerpt="def mean(xs):\n    return sum(xs) / len(xs)\n")
    assert text == (
        "ZeroDivisionError: division by zero\nin test test_stats.py::test_mean_empty\n"
        "def mean(xs):\n    return sum(xs) / len(xs)"
    )
    assert failure_text(sig.text, sig.failing_test, "def mean(xs):\n    return sum(xs) / len(xs)") == text


def test_short_diff_shows_changed_files_and_is_capped() -> None:
    diff = short_diff(
        {"a.py": "x = 1\n", "same.py": "s\n"}, {"a.py": "x = 2\n", "same.py": "s\n", "new.py": "n\n"}
    )
    assert diff.splitlines() == [
        "--- a/a.py",
        "+++ b/a.py",
        "@@ -1 +1 @@",
        "-x = 1",
        "+x = 2",
        "--- /dev/null",
        "+++ b/new.py",
        "@@ -0,0 +1 @@",
        "+n",
    ]
    long = short_diff({"a.py": ""}, {"a.py": "\n".join(f"line {i}" for i in range(100))}, max_lines=10)
    assert long.splitlines()[-1] == "... (93 more diff lines)"
    assert len(long.splitlines()) == 11


def test_durations_versions_and_percentages_are_numbers() -> None:
    assert (
        mask_message("took 0.01s, then 12ms (5%) on 1.2.3 at line 7.")
        == "took <n>, then <n> (<n>) on <n> at line <n>."
    )


def test_a_plain_failed_assert_is_an_assertion_error_with_its_expression() -> None:
    pytest_message = (
        "assert None == 1\n + where None = max_sum([5, 5, 5])\n\ntests/test_max_sum.py:12: AssertionError"
    )
    signature = extract_signature(pytest_message, "test_max_sum.py::test_same")
    assert signature.error_type == "AssertionError"
    assert signature.message == "assert None == <n>"  # not the file:line that ends the traceback


@pytest.mark.parametrize(
    ("signature", "mismatch"),
    [
        ("AssertionError: assert <n> == <n>", True),
        ("assert None == <n>", True),
        ("AssertionError", True),
        ("AssertionError: Expected values to be strictly equal: <n> !== <n>", True),
        ("Failed: DID NOT RAISE <class <str>>", True),
        ("ZeroDivisionError: division by zero", False),
        ("TypeError: unsupported operand type(s) for +: <str> and <str>", False),
        ("Failed: Timeout >5.0s", False),
        ("AssertionErrorish: not an assertion", False),
    ],
)
def test_value_mismatches_are_told_apart_from_errors_that_say_why(signature: str, mismatch: bool) -> None:
    assert is_value_mismatch(signature) is mismatch


def test_a_hung_run_is_remembered_as_a_timeout_of_its_test_at_the_line_it_hung_on() -> None:
    from agent_graph.memory.hints import code_excerpt, failure_query

    spin = "def spin(n):\n    while n > 0:\n        n += 1\n    return n\n"
    dump = (
        "[sandbox] killed after the 6 s wall-clock limit\nTimeout (0:00:03)!\n"
        "Thread 0x00007fecded9e040 (most recent call first):\n"
        '  File "/workspace/spin.py", line 3 in spin\n'
        '  File "/workspace/test_spin.py", line 5 in test_spin_ends\n'
    )
    state: Any = {"files": {"spin.py": spin}, "report": {"status": "timeout", "output": dump, "failures": []}}
    _, error_type, signature, failing_test = failure_query(state)
    assert (error_type, failing_test) == ("Timeout", "test_spin.py::test_spin_ends")
    assert signature == "Timeout: the tests did not finish within the time limit"
    assert "n += 1" in code_excerpt(state)
