"""Why a generated test was dropped before it ran, in words the tester can act on.

The checks in `checks/` and the language adapters find the tests that cannot be right (or pass
whatever the code does); each
reason they give the tester is worded here, from the facts the check found (calls and values as
source text). `tests_retry_request` (prompts.render) lists them when the tester is asked again.
"""

from __future__ import annotations

# --- the goal's examples and the tests against each other (checks.conflicting_tests) ---------


def against_goal_example(call: str, expected: str, outcome: str) -> str:
    return f"`{call}` is {expected} by the goal's own example, not {outcome}"


def returns_and_raises(call: str, value: str) -> str:
    return f"`{call}` is expected both to return {value} and to raise"


def returns_two_values(call: str, values: list[str]) -> str:
    return f"`{call}` is expected to return both {' and '.join(values[:2])}"


def unasked_error(call: str) -> str:
    return f"`{call}` is expected to raise, but the goal asks for no error"


def random_expectation(call: str, drawn: str) -> str:
    return (
        f"`{call}` is expected to equal `{drawn}`, a value hypothesis draws at random and the call never sees"
    )


def shadowed_function(name: str) -> str:
    return (
        f"the test assigns to `{name}`, the function it calls, so the call fails "
        "(UnboundLocalError) whatever the code does; name the result differently"
    )


# --- the goal's typed signature (checks.signature_check) --------------------------------------


def too_many_arguments(call: str, given: int, function: str, takes: int) -> str:
    return f"`{call}` passes {given} arguments; `{function}` takes {takes}"


def argument_type(call: str, argument: str, parameter: str, declared: str) -> str:
    return f"`{call}` passes {argument} as `{parameter}`, declared `{declared}`"


def drawn_argument_type(call: str, strategy: str, parameter: str, declared: str) -> str:
    return f"`{call}` passes values drawn from `{strategy}` as `{parameter}`, declared `{declared}`"


def expected_type(comparison: str, expected: str, function: str, returns: str) -> str:
    return f"`{comparison}` expects {expected}; `{function}` returns `{returns}`"


# --- tests that fail or pass whatever the code does (checks.unknown_strategies, vacuous_tests) --


def unknown_strategy(strategy: str) -> str:
    return (
        f"`{strategy}` is not a Hypothesis strategy, so the test file fails "
        "with AttributeError whatever the code does; use strategies that exist, such as "
        "st.integers(), st.text(alphabet=...), st.lists(...), st.sampled_from(...)"
    )


def never_called(nested: str) -> str:
    """What a test that checks nothing does instead (`vacuous_test`)."""
    return f"defines `{nested}` and never calls it"


NO_CALL = "makes no call and no assert"


def vacuous_test(why: str) -> str:
    return (
        f"the test {why}, so it passes whatever the code does; write each test, "
        "@given ones included, as a top-level test_... function"
    )


# --- a Node.js test file (languages.node) -----------------------------------------------------

NO_NODE_TESTS = (
    "the file defines no node:test tests: require('node:test') and write "
    "test('what it checks', () => { ... }) blocks"
)

JEST_EXPECT = (
    "uses jest's expect(), which node:test does not have: use assert (require('node:assert/strict'))"
)


# --- tests of a program (checks.program_tests) -------------------------------------------------

# How a test runs the program under test, by language.
RUN_PROGRAM = {
    "python": "subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True, cwd=tmp_path)",
    "node": "spawnSync(process.execPath, [PROGRAM, ...args], { cwd, encoding: 'utf8' })",
}


def foreign_module(module: str) -> str:
    return f"imports `{module}`, a Node.js module, in a Python test; use os, pathlib, tempfile or subprocess"


def imports_from_program(names: str, how: str) -> str:
    return (
        f"imports `{names}` from the program, whose contract is its "
        f"command line: run it as a user does, {how}"
    )


def undeclared_import(names: str, declared: str) -> str:
    return f"imports `{names}`, which the plan never declares (it declares {declared}); test only the declared API"


def undefined_call(name: str) -> str:
    return (
        f"calls `{name}()`, which the test file never defines, imports or requires: define the helper "
        "in the file, or call only what the code provides"
    )


def other_framework_client(used: str, named: str, right: str) -> str:
    return f"tests the app with {used}'s test client, but the goal asks for a {named} app: use {right}"


def skeleton_placeholder(value: str) -> str:
    return (
        f"keeps the skeleton's stand-in {value!r}: write the arguments and the expected output of a "
        "behaviour the plan's contract states"
    )


def shell_operator_argument(operator: str) -> str:
    return (
        f"passes the shell's {operator!r} to the program as an argument (no shell reads the argument "
        "list): check the finished process's stdout, stderr and exit status instead"
    )


def unstated_command_line(counts: list[int], commands: list[str]) -> str:
    given = " or ".join(str(n) for n in counts)
    lines = ", ".join(f"`{c}`" for c in commands)
    return (
        f"runs the program with {given} argument(s), a command line the goal never states ({lines}): "
        "run it as the goal's command lines say, and check what the goal says it prints or writes"
    )


def unwritten_input(name: str) -> str:
    return (
        f"runs the program on `{name}`, a file the test never writes, and expects it to succeed: write "
        "the input file into the test's temporary directory first, then run the program on it"
    )


def only_failures_tested() -> str:
    return (
        "expects the program to fail, like every other test in the file, so a program that crashes at start "
        "passes them all: add tests that run a behaviour of the plan's contract that succeeds (exit status 0) "
        "and check its exact output"
    )


def unstated_failure() -> str:
    return (
        "expects the program to fail, but the goal states no failure (no error, exit status or bad input): "
        "test what the goal states"
    )


def only_the_skeleton_error_test(value: str) -> str:
    return (
        f"is the skeleton's example of an error ({value!r}) and the only test left, which tests none of the "
        "contract: add tests of the behaviours the plan's contract states, with their exact output"
    )


def program_never_run(profile: str, how: str) -> str:
    return (
        f"the test file never runs the program, but a {profile} is tested as a user runs it: {how}, "
        "then check stdout, stderr, the exit status and the files it writes"
    )
