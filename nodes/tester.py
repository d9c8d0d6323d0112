"""write_tests: the tests, written from the specification (the goal and the plan's contract), not the code.

The node writes a test file when there is none, when the reflector doubted the tests, or when the
last one came back (`test_feedback`: the safety gate blocked it, a package it needs was refused,
or no version of the code could run it). Every test file passes the same safety gate as the code
before anything runs it; what it finds goes back to the tester, never to the coder, who cannot
change the tests. The graph's router bounds how often the tester is asked again per iteration.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from agent_graph.checks import functions_apply
from agent_graph.checks.examples import EXAMPLES_FILE, examples_test_file, goal_examples
from agent_graph.checks.signature_check import goal_signatures
from agent_graph.context import Context
from agent_graph.languages import LanguageAdapter, adapter_for
from agent_graph.languages.base import TestCheck
from agent_graph.languages.layout import GENERATED_CONFTEST, module_stem, planned_paths, test_path
from agent_graph.limits import MAX_TEST_ASKS
from agent_graph.llm import ModelOutputError
from agent_graph.nodes.safety import scan_tests
from agent_graph.pricing import Usage
from agent_graph.profiles import profile_for
from agent_graph.prompts import SIMPLE_TESTS_REQUEST, TESTER_SYSTEM
from agent_graph.prompts.feedback import CUT_OFF_TESTS, cut_off_feedback, unusable_tests_feedback
from agent_graph.prompts.render import guidance, tester_request, tests_retry_request
from agent_graph.roles import api_names, ask_role, context_of, emit, strip_fences
from agent_graph.sandbox.program_runs import conftest_source as program_runs_conftest
from agent_graph.sandbox.return_types_conftest import conftest_source
from agent_graph.state import AgentState
from agent_graph.tools import write_file
from agent_graph.workspace import Workspace

# A run of one digit this long is a runaway (a literal of thousands of digits), never a test.
RUNAWAY_STOPS = [digit * 24 for digit in "0123456789"]
# A file with no test in it, or cut off, gets more tries within one call of the node.
TEST_FILE_ATTEMPTS = 3
# Characters of a test file dropped as a whole that its `tests_dropped` log event keeps.
DROPPED_OPENING = 800


class UnusableTestsError(ModelOutputError):
    """None of the tester's answers in one call of the node was a test file it could use."""

    def __init__(self, path: str, problem: str, usage: Usage) -> None:
        super().__init__(f"the tester wrote no usable tests for {path} ({problem})", usage, "test")
        self.path, self.problem = path, problem


def write_tests(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the test files and pass them through the safety gate. A file the gate blocks never
    replaces the tests in force: why it was blocked goes back to the tester as `test_feedback`. A
    answer with no usable test file goes back to the tester the same way; a run the tester leaves
    with no usable tests at all, asked again as often as the router allows, ends `failed`."""
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    emit("phase", phase="writing_tests", iteration=iteration)
    asks = state.get("test_asks", 0) + (1 if state.get("test_feedback") else 0)
    try:
        tests, usage = test_files(state, runtime, feedback=state.get("test_feedback", ""))
    except UnusableTestsError as error:  # the router asks again, within bounds, then the run ends
        return {
            "test_asks": asks,
            "test_feedback": unusable_tests_feedback(error.path, error.problem),
            "stop_reason": str(error),
            "tokens": {"test": error.usage.total},
            "cost_usd": {"test": error.usage.cost_usd},
        }
    gate = scan_tests(state, context, tests)
    if gate.feedback and asks >= MAX_TEST_ASKS and (fallback := _goal_examples_alone(state, tests)):
        # The tester's file was sent back as often as the router allows: the goal's own examples
        # still make a test a version must pass, better than ending the run untested.
        fallback_gate = scan_tests(state, context, fallback)
        if not fallback_gate.feedback:
            emit("tests_from_goal_examples", iteration=iteration, reason=gate.feedback.splitlines()[-1][:200])
            tests, gate = fallback, fallback_gate
    update: dict[str, Any] = {
        "test_asks": asks,
        "test_feedback": gate.feedback,
        "approvals": gate.approvals,
        "tokens": {"test": usage.total},
        "cost_usd": {"test": usage.cost_usd},
    }
    if gate.feedback:  # never run: the tests in force stay (the router asks again, within bounds)
        emit("tests_blocked", iteration=iteration, reason=gate.feedback.splitlines()[-1][:200])
        return update
    workspace = Workspace(Path(state["workspace"]))
    for stale in set(state.get("tests", {})) - set(tests):  # a file the new tests no longer have
        workspace.path(stale).unlink(missing_ok=True)
    update |= {"tests": tests, "tests_written_at": iteration, "regenerate_tests": False}
    if gate.installed is not None:
        update["installed_dependencies"] = gate.installed
    return update


def _goal_examples_alone(state: AgentState, tests: dict[str, str]) -> dict[str, str]:
    """The test files without the tester's, when the goal's examples are among them and no tests
    are in force yet ({} otherwise)."""
    if state.get("tests") or EXAMPLES_FILE not in tests:
        return {}
    return {path: content for path, content in tests.items() if path != test_path(state)}


def importable_names(state: AgentState, adapter: LanguageAdapter) -> set[str]:
    """The API's names a test can import: less those the code so far defines only as methods of a
    class (a goal listing `add(item, qty)` under "a class `Inventory`" means a method, and a test
    importing `add` fails at collection whatever the code)."""
    methods = {
        name
        for path, source in (state.get("files") or {}).items()
        if path.endswith(adapter.source_suffix)
        for name in adapter.methods_only(source)
    }
    return api_names(state) - methods


def test_files(
    state: AgentState, runtime: Runtime[Context], feedback: str = ""
) -> tuple[dict[str, str], Usage]:
    """The test files for the goal: the tester's file and, for a goal declaring typed Python
    functions, a file of the goal's own examples and the return-type check. `feedback`: why the
    last test file has to be written again."""
    context = context_of(runtime)
    adapter = adapter_for(state.get("language"))
    functions = functions_apply(state, context)
    path = test_path(state)
    stem = module_stem(state)
    names = importable_names(state, adapter)
    request = tester_request(state, path, adapter.import_line(stem, names), feedback)
    system = f"{TESTER_SYSTEM}\n{guidance(state, 'tester')}"
    messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(request)]
    tests: dict[str, str] = {}
    planned = planned_paths(state)
    profile = profile_for(state.get("profile", "library"))
    if functions:  # the goal's examples get a file no rewrite replaces; the return types a conftest
        examples = examples_test_file(goal_examples(state.get("task", ""), names), stem, adapter.name)
        tests = (dict([examples]) if examples else {}) | return_type_check(
            state.get("task", ""), stem, adapter.name, planned
        )
    elif profile.runs_program:  # a failing test shows what the program did in it
        tests = program_runs_record(adapter.name, planned)
    previous = state.get("tests", {}).get(path)
    spent = Usage()
    cut_tests: str | None = None  # the usable part of a file cut off mid-statement
    problem = "no answer"  # what was wrong with the last answer
    # The last try starts afresh and asks for the simplest kind of test file: a conversation that
    # went wrong twice tends to go wrong the same way again.
    simple: list[BaseMessage] = [messages[0], HumanMessage(f"{request}\n\n{SIMPLE_TESTS_REQUEST}")]
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
                runtime,
                "tester",
                write_file,
                messages,
                max_tokens=tester_budget(state, context),
                stop=RUNAWAY_STOPS,
            )
        except ModelOutputError as error:
            spent += error.usage
            problem = str(error)
            if final:
                break
            messages = simple  # no tool call even at a hotter retry: this conversation is stuck
            continue
        spent += used
        content = strip_fences(call.content)
        cut = None if final else adapter.cut_off_line(content)
        content = adapter.repair_tests(content, stem, names, runs_program=profile.runs_program)
        wrong = certainly_wrong_in(state, context, content)
        if wrong:
            # a check of the whole file names no test: the file's opening shows what was written instead
            opening = {"opening": content[:DROPPED_OPENING]} if any(not c.test for c in wrong) else {}
            emit("tests_dropped", tests=[c.test for c in wrong], reasons=[c.reason for c in wrong], **opening)
            content = adapter.remove_tests(content, {c.test for c in wrong})
        if adapter.test_names(content) and cut is None:
            return {path: content} | tests, spent
        if cut is not None:
            emit("cut_off", path=path, line=cut)
            cut_tests = content if adapter.test_names(content) else cut_tests
            problem = "it was cut off"
            messages = [*messages, HumanMessage(cut_off_feedback(path, cut) + CUT_OFF_TESTS)]
        else:
            problem = (
                "; ".join(sorted({c.reason for c in wrong}))[:300] if wrong else "it had no test functions"
            )
            messages = [
                *messages,
                HumanMessage(tests_retry_request(path, [(c.test, c.reason) for c in wrong])),
            ]
    if cut_tests is not None:
        return {path: cut_tests} | tests, spent
    # No usable test file this time: keep the previous one, or test the goal's examples alone (the
    # return-type check alone tests nothing).
    if previous is None and EXAMPLES_FILE not in tests:
        raise UnusableTestsError(path, problem, spent)
    return ({path: previous} if previous is not None else {}) | tests, spent


def certainly_wrong_in(state: AgentState, context: Context, source: str) -> list[TestCheck]:
    """The tests in `source`, a test file of this run, that no correct program can pass (the
    language's checks, with the goal, the API a test may import, the profile and the planned files)."""
    adapter = adapter_for(state.get("language"))
    return adapter.certainly_wrong_tests(
        source,
        state.get("task", ""),
        importable_names(state, adapter),
        functions_apply(state, context),
        profile=state.get("profile", "library"),
        files=planned_paths(state),
    )


def tester_budget(state: AgentState, context: Context) -> int:
    """Most tokens one test file may take: a program's tests (subprocesses, fixtures) need more."""
    return 1000 if state.get("profile", "library") == "library" else min(context.max_output_tokens, 1600)


def program_runs_record(language: str, planned: Iterable[str] = ()) -> dict[str, str]:
    """`conftest.py` that adds to each failing test's report the program's runs in it (command,
    exit status, stdout, stderr): Python programs whose tests run them; nothing when the plan has
    a `conftest.py` of its own."""
    if language != "python" or GENERATED_CONFTEST in planned:
        return {}
    return {GENERATED_CONFTEST: program_runs_conftest()}


def return_type_check(goal: str, module: str, language: str, planned: Iterable[str] = ()) -> dict[str, str]:
    """`conftest.py` that fails any call returning another type than the goal's signature declares
    (Python goals whose functions have return annotations; nothing otherwise, nor when the plan
    has a `conftest.py` of its own, which this one would overwrite)."""
    if language != "python" or GENERATED_CONFTEST in planned:
        return {}
    returns = {
        name: ast.unparse(s.returns) for name, s in goal_signatures(goal).items() if s.returns is not None
    }
    return {GENERATED_CONFTEST: conftest_source(module, returns)} if returns else {}
