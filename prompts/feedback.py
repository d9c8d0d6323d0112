"""What the coder and the tester are told when their last answer came back: a file cut off, answers
enumerated instead of computed, tests the versions of the code showed to be wrong, and what the
safety gate refused.

Pure text: each template takes the facts it words (paths, lines, names, counts) as plain values,
so that the modules which find those facts import it without importing the graph.
"""

from __future__ import annotations

from collections.abc import Sequence

# --- an answer cut off mid-statement (repairs.python.cut_off_line) ----------------------------


def cut_off_feedback(path: str, line: str) -> str:
    """Why an answer cut off mid-statement is asked for again, and how to avoid it."""
    if line.startswith("#"):  # a body that is only a comment: a stub, not a cut
        return (
            f"`{path}` ends with `{line}` where the code should be. Write the complete file again, "
            "with the whole implementation."
        )
    return (
        f"`{path}` stops in the middle of a statement, at `{line}`: a double quote inside write_file's "
        'content ends the content there unless it is escaped as \\". Write the complete file again, '
        "with single quotes for every string in the code."
    )


# Added to `cut_off_feedback` for the tester: a long test file is what gets cut off.
CUT_OFF_TESTS = " Keep to a few short tests."


def unusable_tests_feedback(path: str, problem: str) -> str:
    """Why the tester is asked again after none of its last answers was a test file it could use."""
    return (
        f"None of your last answers was a usable `{path}`: {problem}. Write it again from the start: "
        "a few short test functions, each checking one behaviour the goal states, and nothing else."
    )


# --- literal answers instead of a computation (checks.literal_cases) ---------------------------


def literal_cases_feedback(
    function: str, path: str, count: int, first_line: int, last_line: int, example: str
) -> str:
    """Why a function returning fixed answers for particular inputs is sent back to the coder."""
    return (
        f"`{function}` in `{path}` returns fixed answers for {count} particular inputs "
        f"(lines {first_line}-{last_line}, e.g. `{example}`). That only matches "
        "particular test values and is wrong for every other input. Write the general computation "
        "the goal describes, with no special case for a particular input value."
    )


# --- tests the versions of the code showed to be wrong (selection.agreement) --------------------


def broken_tests_request(error: str) -> str:
    """The tester's request when its test file could not run against any version of the code."""
    return (
        f"Your last test file could not run against any version of the code:\n{error}\n"
        "Write it again so that it runs: use only names it defines or imports."
    )


TIMED_OUT_TESTS = (
    "Your last test file ran out of time against every version of the code: the tests ask too "
    "much. Write it again with small inputs only: hypothesis strategies bounded to values of "
    "100 or less and lists of at most 10 items, and a few calls with small literal arguments."
)


def strong_group_finding(votes: int, total: int) -> str:
    """What a large group of agreeing versions, failing every test, shows the tester."""
    return (
        f"{votes} of {total} versions of the code, written independently from the goal, all "
        "return the same values and fail every test you wrote"
    )


def no_version_passes_finding(versions: int) -> str:
    """What versions that pass no test at all, agreeing or not, show the tester."""
    return (
        f"None of {versions} different versions of the code, written independently from the goal, "
        "passes any test you wrote"
    )


def against_tests_request(finding: str, failures: Sequence[tuple[str, str]]) -> str:
    """The request to write the tests again: what the versions showed, and a few (test, message)
    failures."""
    shown = "\n".join(
        f"- {test}: " + " / ".join(message.strip().splitlines()[:2])[:160] for test, message in failures[:3]
    )
    return (
        f"{finding}:\n{shown}\n"
        "Your expected values are likely worked out wrong. Work each one out again from the goal, "
        "step by step, and write the test file again."
    )


# --- the safety gate (nodes.safety) ------------------------------------------------------------

TEST_GATE_HEAD = (
    "The safety gate blocked the test file before it ran; fix every line below and write it again:"
)


def test_package_refused(where: str, package: str) -> str:
    """The gate's line for a package a test file may not use."""
    return (
        f"- {where}: package {package!r} may not be used in tests; use the standard "
        "library, the test framework and the packages the code itself uses."
    )


def package_not_installable(where: str, package: str, how: str, reason: str) -> str:
    """The line for a package allowlisted or approved (`how`) that could not be installed."""
    return (
        f"- {where}: package {package!r} {how} but could not be installed{reason}; "
        "write the code without it (standard library only)."
    )


def package_not_approved(where: str, package: str) -> str:
    """The line for a package a human did not approve."""
    return (
        f"- {where}: package {package!r} was not approved; write the code without it (standard library only)."
    )


NOTHING_WRITTEN = "no version of the code was written"
