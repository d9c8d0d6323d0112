"""The state rendered as prompt text: the plan, files, a test report, the language and profile
rules, and the requests the coder and the tester get."""

from __future__ import annotations

import re
from typing import Any, Literal

from agent_graph.checks.command_lines import goal_commands
from agent_graph.languages.layout import module_stem, planned_paths
from agent_graph.profiles import METAVARIABLE, profile_for, value_slot
from agent_graph.prompts import LANGUAGE_GUIDANCE
from agent_graph.sandbox.return_types_conftest import RETURN_TYPE_FAILURE
from agent_graph.state import AgentState

Role = Literal["planner", "coder", "tester", "reflector"]


def guidance(state: AgentState, role: Role) -> str:
    """The language and profile rules for `role`: stable per run, so they belong in the cached
    prompt prefix. The planner gets the profile's contract, the coder and the tester its guidance
    for the language, the reflector its one-line summary."""
    language = state.get("language", "python")
    profile = profile_for(state.get("profile", "library"))
    if role == "planner":
        text = profile.contract
    elif role == "reflector":
        text = f"Profile {profile.name}: {profile.summary}"
    else:
        entry = (state.get("plan", {}).get("contract") or {}).get("entry_point", "")
        program = entry or next(iter(planned_paths(state)), "")
        text = profile.guidance(
            role,
            language,
            program=program,
            module=module_stem(state) if not entry else "",
            goal=state.get("task", ""),
        )
    return f"{LANGUAGE_GUIDANCE[language]}\n{text}"


def coder_system(state: AgentState, system: str) -> str:
    return f"{system}\n{guidance(state, 'coder')}"


def coder_request(
    state: AgentState,
    files: dict[str, str],
    path: str,
    purpose: str,
    *,
    with_feedback: bool = True,
    with_plan: bool = True,
    extra: str = "",
) -> str:
    """The coder's request, stable parts first so a local model can reuse its prompt cache. With a
    `path`, it asks for that whole file; without, the `extra` instructions say what to do."""
    plan = render_plan(state.get("plan", {})) if with_plan else ""
    parts = [f"Goal:\n{state.get('task', '')}", plan]
    if files:
        parts.append(render_files(files, "Current source files"))
    # A version written without the failed history still keeps to the safety gate's findings:
    # they are rules for any code, not history.
    feedback = coder_feedback(state) if with_feedback else _gate_feedback(state)
    if feedback:
        parts.append(feedback)
    if extra:
        parts.append(extra)
    if path:
        parts.append(f"Write the complete file `{path}` ({purpose}). Call write_file with path `{path}`.")
    return "\n\n".join(p for p in parts if p)


def coder_feedback(state: AgentState) -> str:
    """What went wrong last time and the plan to fix it."""
    gate = _gate_feedback(state)
    parts = [gate] if gate else []
    report = state.get("report")
    if report and report.get("status") != "passed" and state.get("iteration", 0) > 1:
        parts.append("Last test run:\n" + render_report(report, limit=4))
    reflections = state.get("reflections", [])
    if reflections:
        last = reflections[-1]
        steps = "\n".join(f"- {s}" for s in last.get("fix_plan", []))
        parts.append(f"Diagnosis: {last.get('hypothesis', '')}\nFix plan:\n{steps}")
    return "\n\n".join(parts)


def _gate_feedback(state: AgentState) -> str:
    """The safety gate's findings on the last attempt, or ''."""
    if not state.get("safety_feedback"):
        return ""
    return "The safety gate blocked the last attempt; remove these constructs:\n" + state["safety_feedback"]


def render_plan(plan: dict[str, Any], *, with_steps: bool = True) -> str:
    """The plan as text; without its summary and steps (`with_steps=False`) only what it fixes:
    the files, the public API and the edge cases."""
    lines = [f"Plan: {plan.get('summary', '')}"] if with_steps else ["Plan:"]
    if with_steps:
        lines += [f"  step {i}: {s}" for i, s in enumerate(plan.get("subtasks", []), 1)]
    lines += [f"  file {f['path']}: {f.get('purpose', '')}" for f in plan.get("files", [])]
    lines += [f"  API: {a}" for a in plan.get("public_api", [])]
    lines += [f"  edge case: {e}" for e in plan.get("edge_cases", [])]
    contract = plan.get("contract") or {}
    if contract.get("entry_point"):
        lines.append(f"  entry point: {contract['entry_point']}")
    lines += [f"  behaviour: {b}" for b in contract.get("behaviours", [])]
    return "\n".join(lines)


def render_files(files: dict[str, str], title: str = "Current files") -> str:
    if not files:
        return ""
    parts = [f"{title}:"]
    for path, content in sorted(files.items()):
        parts.append(f"--- {path} ---\n{content.rstrip()}")
    return "\n".join(parts)


def render_report(report: dict[str, Any], limit: int = 6) -> str:
    """The failing tests, with assertion messages and traceback lines (and, for a program run as a
    process, what it did in the test), for the reflector and coder."""
    if not report:
        return ""
    lines = [
        f"Test run: {report.get('status')} — {report.get('passed', 0)} passed, {report.get('failed', 0)} failed, "
        f"{report.get('errors', 0)} errors."
    ]
    for failure in report.get("failures", [])[:limit]:
        lines.append(f"FAILED {failure.get('test')}: {failure.get('message', '').strip()[:600]}")
        trace = without_return_check_frames(failure.get("traceback", "").strip())
        if trace:
            lines.append("\n".join(trace.splitlines()[-12:]))
        if failure.get("program_runs"):
            lines.append(PROGRAM_RUNS_SHOWN + failure["program_runs"].strip())
    if report.get("status") == "timeout":
        # No report survives a run killed at the limit; the output's stack dump shows where it hung.
        lines.append(
            "The tests were stopped at the time limit: some code never returned (often an endless loop, "
            "or far too slow). A stack dump in the output shows the test and the line it hung on."
        )
    if not report.get("failures") and report.get("output"):
        lines.append("Output (tail):\n" + "\n".join(str(report["output"]).splitlines()[-25:]))
    return "\n".join(lines)


# Above a failing test's program runs (sandbox/program_runs_conftest.py), one per line.
PROGRAM_RUNS_SHOWN = "What the program did in this test (command -> exit status, stdout, stderr):\n"


def without_return_check_frames(trace: str) -> str:
    """A traceback without the frames of the generated return-type conftest.

    Its wrapper sits between every test and the goal's functions; its frames and source are noise
    to the model, which is told the files it may change. A return-type failure keeps only where
    the test called: the message above it says all there is.
    """
    lines = [line for line in trace.splitlines() if not _WRAPPER_FRAME.match(line.strip())]
    if RETURN_TYPE_FAILURE in trace:
        lines = [line for line in lines if line.startswith("called from")]
    return "\n".join(lines)


# The conftest wraps each goal function in `checked`; a frame of it reads like this.
_WRAPPER_FRAME = re.compile(r"called from conftest\.py:\d+: in checked$")


def tester_request(state: AgentState, path: str, import_line: str, feedback: str = "") -> str:
    """The tester's request: the goal and what the plan fixes (not its summary and steps, which are
    one reading of the goal that the first version is also written from: tests working their
    expected values out the plan's way would favour that version even when the plan misread the
    goal), how the tests reach the code, and why the last file came back, if it did."""
    modules = ", ".join(planned_paths(state))
    plan = render_plan(state.get("plan", {}), with_steps=False)
    profile = profile_for(state.get("profile", "library"))
    if profile.runs_program:
        how = "Run the program as the profile's skeleton shows; do not import it."
        calls = command_forms(state.get("task", ""), state.get("language", "python"))
    else:
        how = f"Import the code with `{import_line}`."
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
    return request


def call_forms(goal: str) -> str:
    """How each function the goal declares is called: its parameters, named and counted. A small
    model reads the commas inside a nested annotation as more parameters."""
    from agent_graph.checks.signature_check import goal_signatures

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


def command_forms(goal: str, language: str) -> str:
    """The goal's command lines (`python kv.py set KEY VALUE`) as calls of the test skeleton's
    `run` helper, the value names left for the tester to fill in. A small model otherwise merges
    the skeleton's example arguments with the goal's. A value name becomes a slot (`'<KEY>'`) that
    a test left holding is the test's fault (`checks.program_tests`)."""
    lines = []
    for span, words in goal_commands(goal, language):
        arguments = ", ".join(_quoted(value_slot(w) if METAVARIABLE.fullmatch(w) else w) for w in words[1:])
        if language == "python":
            call = f"run(tmp_path{', ' if arguments else ''}{arguments})"
        else:
            call = f"run(dir, [{arguments}])"
        lines.append(f"- `{span}` is `{call}`")
    if not lines:
        return ""
    return (
        "The goal's commands, as calls of the skeleton's run(); in each test, put a real value in place of "
        "each word in angle brackets, the same value wherever that word comes back (write any input file "
        "into the test's folder first):\n" + "\n".join(lines)
    )


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"


def tests_retry_request(path: str, wrong: list[tuple[str, str]]) -> str:
    """Why the last test file was unusable: no tests in it, or only tests that cannot be right."""
    if not wrong:
        return f"`{path}` had no test functions. Write test functions (test_... in Python, test('...') with node:test in Node.js) this time."
    reasons = "\n".join(f"- {test}: {reason}" for test, reason in wrong[:4])
    return (
        f"Every test in `{path}` was certainly wrong:\n{reasons}\n"
        "Write tests again: use only what the plan declares, expect what the goal states, and never "
        "expect two outcomes for the same call."
    )


def planner_request(goal: str, hints: str = "", replan: str = "") -> str:
    """The planner's request: the goal, then the memory's hints and why it plans again, if any."""
    return "\n\n".join(part for part in (f"Goal:\n{goal}", hints, replan) if part)


def reflector_request(
    goal: str,
    files: dict[str, str],
    tests: dict[str, str],
    failures: str,
    tried: list[str],
    *more: str,
) -> str:
    """The reflector's request: the goal, the code, the tests, the failures, the hypotheses
    already tried (the last three), then `more` (the memory's hints, the circuit breaker's warning)."""
    parts = [
        f"Goal:\n{goal}",
        render_files(files, "Source files"),
        render_files(tests, "Test files"),
        f"Failures:\n{failures}",
    ]
    if tried:
        parts.append(
            "Hypotheses already tried (they did not fix it):\n" + "\n".join(f"- {h}" for h in tried[-3:])
        )
    parts += more
    return "\n\n".join(p for p in parts if p)
