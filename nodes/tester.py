"""The tester: writes tests from the specification (not the code) and runs them in the sandbox."""

from __future__ import annotations

import ast
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from agent_graph.context import Context
from agent_graph.llm import ModelOutputError
from agent_graph.nodes.agreement import STRONG_GROUP_VOTES, choose_first_version
from agent_graph.nodes.common import (
    api_names,
    ask_role,
    context_of,
    emit,
    guidance,
    render_plan,
    strip_fences,
)
from agent_graph.nodes.conflicting_tests import (
    conflicting_tests,
    errors_asked,
    random_expectation_tests,
    shadowing_tests,
    unasked_error_tests,
)
from agent_graph.nodes.examples import EXAMPLES_FILE, examples_test_file, goal_examples
from agent_graph.nodes.hints import remember_outcome
from agent_graph.nodes.repair import (
    cut_off_feedback,
    cut_off_line,
    has_python_tests,
    remove_tests,
    repair_python_tests,
    without_doubted,
)
from agent_graph.nodes.sampling import code_hash
from agent_graph.nodes.signature_check import Contradiction, contradictions, goal_signatures
from agent_graph.nodes.unknown_strategies import unknown_strategy_tests
from agent_graph.nodes.untested_choice import choose_without_tests
from agent_graph.nodes.vacuous_tests import vacuous_tests
from agent_graph.pricing import Usage
from agent_graph.prompts import TESTER_SYSTEM
from agent_graph.sandbox.return_types_conftest import conftest_source
from agent_graph.sandbox_pool import sandbox_for
from agent_graph.state import AgentState, Attempt, merge_counts
from agent_graph.tools import write_file
from agent_graph.workspace import Workspace

RETURN_CHECK_FILE = "conftest.py"
# A small model sometimes writes one digit until the token limit (`max_value=1000000...`): no
# test needs 24 in a row, and stopping there saves the rest of the 1,000 tokens. The file is then
# cut off mid-statement and asked for once more, like one that ran to the limit.
RUNAWAY_STOPS = [digit * 24 for digit in "0123456789"]
# A file with no test in it, or cut off, gets more tries: without usable tests a run ends at its
# first iteration (4 of 40 MBPP problems in the 9e68a60 run, after two tries).
TEST_FILE_ATTEMPTS = 3
SIMPLE_TESTS_REQUEST = (
    "Keep this file simple: three to five short test functions named test_..., each calling the "
    "function once with small literal arguments and asserting the exact result the goal implies. "
    "No hypothesis, no random data, no long inputs."
)


def test(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Generate tests when there are none (or the reflector doubted them), then run everything."""
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    tests = dict(state.get("tests", {}))
    files = dict(state.get("files", {}))
    usage = Usage()
    agreed: dict[str, Any] = {}
    if not tests or state.get("regenerate_tests"):
        emit("phase", phase="writing_tests", iteration=iteration)
        try:
            tests, usage = write_tests(state, runtime)
        except ModelOutputError as error:  # no tests and none to keep: the run cannot go on
            return _without_tests(state, context, str(error), error.usage)
        # Versions the coder wrote before any test existed: the new tests choose among them, the
        # tests the chosen group fails as a whole are set aside, and a file no version could run,
        # or that every agreeing group, or every version, fails entirely, is written again.
        choice = choose_first_version(state, context, tests, module_stem(state))
        if choice.rewrite:  # asked once more, told why; the file stays if nothing better comes
            emit("tests_asked_again", iteration=iteration, reason=choice.rewrite)
            tests, more = write_tests({**state, "tests": tests}, runtime, feedback=choice.rewrite)
            usage += more
            choice = choose_first_version(state, context, tests, module_stem(state))
        files = choice.files or files
        if iteration == 1 and choice.files and choice.votes >= STRONG_GROUP_VOTES:
            # independent readings agreeing: the answer if the loop never meets its tests (final_choice.py)
            agreed = {"files": choice.files, "votes": choice.votes}
        python = state.get("language", "python") == "python"  # test functions come out by AST
        kept = without_doubted(tests, choice.doubted, keep=EXAMPLES_FILE) if python else None
        if kept is not None:
            tests = kept
            emit("tests_quarantined", iteration=iteration, tests=sorted(choice.doubted))
    tokens = usage.total
    emit("phase", phase="testing", iteration=iteration)
    workspace = Workspace(Path(state["workspace"]))
    for stale in set(state.get("tests", {})) - set(tests):
        workspace.path(stale).unlink(missing_ok=True)
    workspace.sync({**files, **tests})
    sandbox = sandbox_for(state["task_id"], context.sandbox_settings())
    report = sandbox.run_tests(
        workspace.root, state.get("language", "python"), context.sandbox_timeout_seconds
    )
    emit(
        "tests",
        iteration=iteration,
        passed=report.passed,
        failed=report.failed + report.errors,
        status=report.status,
    )
    spent = sum(state.get("tokens", {}).values()) + tokens
    attempt: Attempt = {
        "iteration": iteration,
        "status": report.status,
        "tests_passed": report.passed,
        "tests_failed": report.failed + report.errors,
        "error_summary": _summary(report.to_dict()),
        "duration_seconds": round(time.time() - state.get("iteration_started", time.time()), 3),
        "tokens": spent,
        "phase_tokens": merge_counts(state.get("tokens"), {"test": tokens}),
        "files": sorted({**files, **tests}),
        "failures": {f.test: f.message[:300] for f in report.failures},
        "code_hash": code_hash(files),
    }
    update: dict[str, Any] = {
        "files": files,
        "tests": tests,
        "regenerate_tests": False,
        "report": report.to_dict(),
        "attempts": [attempt],
        "tokens": {"test": tokens},
        "cost_usd": {"test": usage.cost_usd},
        "stop_reason": stop_reason(state, context, report.status == "passed", spent),
    }
    if agreed:
        update["agreed"] = agreed
    remember_outcome(context, {**state, "files": files}, report.status == "passed")
    if report.status != "passed":
        update["last_failed_files"] = dict(files)
    best = state.get("best") or {}
    if not best or report.passed > best.get("passed", -1) or report.status == "passed":
        update["best"] = {
            "iteration": iteration,
            "passed": report.passed,
            "failed": report.failed + report.errors,
            "files": dict(files),
        }
    return update


def _without_tests(state: AgentState, context: Context, reason: str, usage: Usage) -> dict[str, Any]:
    """End the run as failed, for want of tests, with the version the others agree with most in the
    workspace (`choose_without_tests`) rather than simply the first. `usage`: what the tester's
    unusable answers took."""
    files = choose_without_tests(state, context, module_stem(state)) or dict(state.get("files", {}))
    Workspace(Path(state["workspace"])).sync(files)
    return {
        "files": files,
        "status": "failed",
        "stop_reason": reason,
        "tokens": {"test": usage.total},
        "cost_usd": {"test": usage.cost_usd},
    }


def stop_reason(state: AgentState, context: Context, passed: bool, tokens_spent: int) -> str:
    """Why the loop must end now ('' to go on): the circuit breaker and the token budget."""
    if passed:
        return ""
    if state.get("iteration", 1) >= context.max_iterations:
        return f"circuit breaker: {context.max_iterations} iterations without passing"
    if context.max_tokens and tokens_spent >= context.max_tokens:
        return f"token budget of {context.max_tokens} spent"
    return ""


def module_stem(state: AgentState) -> str:
    files = [f["path"] for f in state.get("plan", {}).get("files", [])]
    code_files = [f for f in files if f.endswith((".py", ".js"))] or ["solution"]
    return Path(code_files[0]).stem


def test_path(state: AgentState) -> str:
    """Where the test file goes: `test_<module>.py` or `<module>.test.js`."""
    stem = module_stem(state)
    return f"{stem}.test.js" if state.get("language") == "node" else f"test_{stem}.py"


def write_tests(
    state: AgentState, runtime: Runtime[Context], feedback: str = ""
) -> tuple[dict[str, str], Usage]:
    """The test files for the goal: the tester's file, the goal's examples and the return-type check.
    `feedback`: why the last test file has to be written again (`agreement.FirstChoice.rewrite`)."""
    path = test_path(state)
    modules = ", ".join(f["path"] for f in state.get("plan", {}).get("files", []))
    stem = module_stem(state)
    names = api_names(state)
    imported = ", ".join(sorted(names)) or "*"
    if state.get("language") == "node":
        how = f"Import the code with `const {{ {imported} }} = require('./{stem}.js');`."
    else:
        how = f"Import the code with `from {stem} import {imported}`."
    # Not the plan's summary and steps: they are one reading of the goal, and the first version is
    # written from it. Tests that work their expected values out the plan's way favour that version
    # even when the plan misread the goal (cube_Sum in the 748bc02 MBPP run: the two versions from
    # the goal alone were right and passed one test each; the planned one, wrong, passed three).
    plan = render_plan(state.get("plan", {}), with_steps=False)
    calls = call_forms(state.get("task", ""))
    request = (
        f"Goal:\n{state.get('task', '')}\n\n{plan}\n\n"
        f"The code will be in: {modules}. You do not see the code; test the behaviour the goal promises. {how}\n"
        + (f"{calls}\n" if calls else "")
        + f"Write the complete test file `{path}`. Call write_file with path `{path}`."
    )
    reflections = state.get("reflections", [])
    if state.get("regenerate_tests") and reflections:
        request += f"\n\nThe previous tests were judged wrong: {reflections[-1].get('hypothesis', '')}"
    if feedback:
        request += f"\n\n{feedback}"
    messages = [SystemMessage(f"{TESTER_SYSTEM}\n{guidance(state)}"), HumanMessage(request)]
    language = state.get("language", "python")
    # Examples stated in the goal are tested by a file of their own, which no rewrite replaces; the
    # return types the goal declares are checked on every call by a conftest.py.
    examples = examples_test_file(goal_examples(state.get("task", ""), names), stem, language)
    planned = [f["path"] for f in state.get("plan", {}).get("files", [])]
    tests = (dict([examples]) if examples else {}) | return_type_check(
        state.get("task", ""), stem, language, planned
    )
    previous = state.get("tests", {}).get(path)
    spent = Usage()
    cut_tests: str | None = None  # the usable part of a file cut off mid-statement
    unusable = ""  # why the model's last answer was no tool call at all
    # The last try starts afresh and asks for the simplest kind of test file: a conversation that
    # went wrong twice tends to go wrong the same way again (long random-data tests cut off
    # mid-list, hypothesis tests expecting a drawn value).
    simple = [messages[0], HumanMessage(f"{request}\n\n{SIMPLE_TESTS_REQUEST}")]
    for attempt in range(TEST_FILE_ATTEMPTS):
        final = attempt == TEST_FILE_ATTEMPTS - 1
        if final and cut_tests is not None:
            break  # the whole tests of a cut-off file will do
        if final:
            messages = simple
        if messages is simple:
            emit("tests_asked_simply", path=path, attempt=attempt + 1)
        try:
            call, used = ask_role(
                runtime, "tester", write_file, messages, max_tokens=1000, stop=RUNAWAY_STOPS
            )
        except ModelOutputError as error:
            spent += error.usage
            unusable = f" ({error})"
            if final:
                break
            messages = simple  # no tool call even at a hotter retry: this conversation is stuck
            continue
        spent += used
        unusable = ""
        content = strip_fences(call.content)
        if language != "python":
            return {path: content} | tests, spent
        cut = None if final else cut_off_line(content)
        content = repair_python_tests(content, stem, names)
        wrong = certainly_wrong_tests(content, state.get("task", ""), names)
        if wrong:
            emit("tests_dropped", tests=[c.test for c in wrong], reasons=[c.reason for c in wrong])
            content = remove_tests(content, {c.test for c in wrong})
        if has_python_tests(content) and cut is None:
            return {path: content} | tests, spent
        if cut is not None:
            emit("cut_off", path=path, line=cut)
            cut_tests = content if has_python_tests(content) else cut_tests
            messages = [*messages, HumanMessage(cut_off_feedback(path, cut) + " Keep to a few short tests.")]
        else:
            messages = [*messages, HumanMessage(_retry_request(path, wrong))]
    if cut_tests is not None:
        return {path: cut_tests} | tests, spent
    # No usable test file this time: keep the previous one, or test the goal's examples alone.
    if previous is None and not examples:
        raise ModelOutputError(f"the tester wrote no usable tests for {path}{unusable}", spent, "test")
    return ({path: previous} if previous is not None else {}) | tests, spent


def call_forms(goal: str) -> str:
    """How each function the goal declares is called: its parameters, named and counted. A small
    model reads the commas inside a nested annotation as more parameters: in every MBPP run, all of
    extract_even's tests (`test_tuple: Tuple[int, int, Tuple[...], int, int]`) called it with three
    arguments, were dropped as certainly wrong, and the run ended with no usable tests."""
    lines = []
    for signature in goal_signatures(goal).values():
        if signature.variadic:
            continue
        names = [name for name, _ in signature.parameters]
        count = f"{len(names)} parameter{'' if len(names) == 1 else 's'}"
        lines.append(
            f"`{signature.name}` has {count}: call it as `{signature.name}({', '.join(names)})`, "
            "with no more arguments than that."
        )
    return "\n".join(lines)


def return_type_check(goal: str, module: str, language: str, planned: Iterable[str] = ()) -> dict[str, str]:
    """`conftest.py` that fails any call returning another type than the goal's signature declares
    (Python goals whose functions have return annotations; nothing otherwise, nor when the plan
    has a `conftest.py` of its own, which this one would overwrite)."""
    if language != "python" or RETURN_CHECK_FILE in planned:
        return {}
    returns = {
        name: ast.unparse(s.returns) for name, s in goal_signatures(goal).items() if s.returns is not None
    }
    return {RETURN_CHECK_FILE: conftest_source(module, returns)} if returns else {}


def certainly_wrong_tests(source: str, goal: str, names: set[str]) -> list[Contradiction]:
    """Tests no correct code can pass: against the goal's typed signature, its examples, or each
    other; tests of an error the goal does not ask for; and tests that pass whatever the code does
    (one reason per test)."""
    found = contradictions(source, goal_signatures(goal))
    asks_for_errors = errors_asked(goal)
    found += conflicting_tests(source, names, goal_examples(goal, names), asks_for_errors)
    found += random_expectation_tests(source, names)
    found += shadowing_tests(source, names)
    found += unknown_strategy_tests(source)
    found += vacuous_tests(source)
    if not asks_for_errors:
        found += unasked_error_tests(source, names)
    first: dict[str, Contradiction] = {}
    for contradiction in found:
        first.setdefault(contradiction.test, contradiction)
    return list(first.values())


def _retry_request(path: str, wrong: list[Contradiction]) -> str:
    """Why the last test file was unusable: no tests in it, or only tests that cannot be right."""
    if not wrong:
        return f"`{path}` had no test functions. Write test functions named test_... this time."
    reasons = "\n".join(f"- {c.test}: {c.reason}" for c in wrong[:4])
    return (
        f"Every test in `{path}` was certainly wrong:\n{reasons}\n"
        "Write tests again: pass arguments of the declared types, expect values of the declared return "
        "type, agree with the goal's examples, and never expect two outcomes for the same call."
    )


def _summary(report: dict[str, Any]) -> str:
    failures = report.get("failures", [])
    if failures:
        first = failures[0]
        return f"{first.get('test', '')}: {first.get('message', '').strip().splitlines()[0][:200] if first.get('message') else ''}"
    if report.get("status") in ("error", "timeout"):
        tail = str(report.get("output", "")).strip().splitlines()
        return f"{report.get('status')}: {tail[-1][:200] if tail else ''}"
    return ""
