"""The coder: writes every planned source file through a forced `write_file` tool call."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from agent_graph.context import Context
from agent_graph.llm import ModelOutputError
from agent_graph.nodes.common import (
    api_names,
    ask_role,
    context_of,
    emit,
    guidance,
    render_files,
    render_plan,
    render_report,
    strip_fences,
)
from agent_graph.nodes.literal_cases import literal_cases, runaway_table
from agent_graph.nodes.repair import cut_off_feedback, cut_off_line, salvage_python, strip_tests_from_source
from agent_graph.nodes.safety import rules_from
from agent_graph.nodes.sampling import Candidate, try_candidate, wanted_samples
from agent_graph.pricing import Usage
from agent_graph.prompts import CODER_SYSTEM, PLAIN_SYSTEM, REASON_FIRST
from agent_graph.sandbox.safety import scan_files
from agent_graph.state import AgentState, Version
from agent_graph.tools import run_file_tool, write_file
from agent_graph.workspace import PathRefusedError, Workspace


def code(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Start the next iteration: (re)write the source files, guided by the last reflection.

    In the first iteration `first_samples` versions are written, each from its own reading of the
    goal (`first_iteration_version`); the workspace gets the first, and the tests, once written,
    choose among them.
    After a failure, up to `samples_per_iteration` versions are written (the first at the usual
    temperature, the rest hotter, for diversity) and the one the existing tests like best is kept;
    the first version that passes them all ends the sampling. The last of them is a fresh start:
    written from the goal and plan alone, without the failed code and its diagnosis, which can
    hold the coder to a wrong approach (or a wrong reading of a wrong test).
    """
    context = context_of(runtime)
    iteration = state.get("iteration", 0) + 1
    started = time.time()  # an iteration's duration covers its coding, safety scan and tests
    emit("phase", phase="coding", iteration=iteration)
    workspace = Workspace(Path(state["workspace"]))
    # Rebuild the workspace from the checkpointed state first: after a crash the disk may be
    # ahead of (or behind) the checkpoint this run resumed from.
    workspace.sync({**state.get("files", {}), **state.get("tests", {})})
    samples = wanted_samples(state, context)
    spent = Usage()
    chosen: Candidate | None = None
    chosen_blocked = False  # the first iteration's kept version: would the safety gate block it?
    tried: list[Candidate] = []
    versions: list[Version] = []
    for number in range(samples):
        fresh = samples > 1 and number == samples - 1
        if iteration == 1:
            reading, hot = first_iteration_version(number)
        else:
            reading, hot = "planned", number > 0
        temperature = context.sample_temperature if hot else None
        try:
            files, used = write_version(state, runtime, temperature, fresh=fresh, reading=reading)
        except ModelOutputError as error:  # the run ends here; what this iteration spent still counts
            error.usage = spent + error.usage
            raise
        spent += used
        versions.append(
            {
                "iteration": iteration,
                "sample": number + 1,
                "fresh": fresh,
                "reading": reading,
                "files": files,
            }
        )
        if samples == 1:
            chosen = Candidate(files)
            break
        if not state.get("tests"):  # the first iteration: the tests, once written, choose (agreement.py)
            # Until then, the first version the safety gate lets through: one the gate blocks (an
            # answer that ran on into a string it never closed) would end the iteration before the
            # tests exist, and the other versions would never be judged.
            if chosen is None or chosen_blocked:  # each version is scanned once, until one passes
                blocked = _blocked(files, state, context)
                if chosen is None or not blocked:
                    chosen, chosen_blocked = Candidate(files), blocked
            continue
        tried.append(try_candidate(files, state, context))
        if chosen is None or tried[-1].rank > chosen.rank:
            chosen = tried[-1]
        if chosen.passed_all:
            break
    assert chosen is not None
    if tried:
        emit(
            "samples",
            iteration=iteration,
            passed=[c.report.passed if c.report else None for c in tried],
            chosen=tried.index(chosen) + 1,
        )
    for path, content in chosen.files.items():
        result = run_file_tool(workspace, "write_file", {"path": path, "content": content})
        if result.startswith("error:"):
            raise PathRefusedError(result)
    return {
        "iteration": iteration,
        "iteration_started": started,
        "files": chosen.files,
        "versions": versions,
        "safety_feedback": "",
        "tokens": {"code": spent.total},
        "cost_usd": {"code": spent.cost_usd},
    }


# The readings of the goal behind the first iteration's versions, in order; the rest are "planned"
# and hotter. Why several: the plan is one reading of the goal, and when it is wrong every planned
# version (and the tests, written from it too) shares it. In one MBPP run (3544a42, replayed by
# scripts/bench_selection.py; 31 problems with four distinct first versions) the two hotter planned
# versions solved 9 and 15, the two usual-temperature ones 17 each, and the hotter ones solved none
# that a usual-temperature one missed, while the version from the goal alone was the only one to
# solve 2. The next run (748bc02, 40 problems) agreed: the hotter planned version solved none that
# another missed, while the planned, goal-alone and plain readings each solved one to three alone.
# So the first four versions vary the prompt at the usual temperature; only later ones are hotter.
Reading = Literal["planned", "goal", "plain", "reasoned"]  # see write_version
FIRST_READINGS: tuple[Reading, ...] = ("planned", "goal", "plain", "reasoned")


def first_iteration_version(number: int) -> tuple[Reading, bool]:
    """The reading of the goal the first iteration's version `number` (0-based) is written from,
    and whether it is written at the hotter `sample_temperature`."""
    if number < len(FIRST_READINGS):
        return FIRST_READINGS[number], False
    return "planned", True


def write_version(
    state: AgentState,
    runtime: Runtime[Context],
    temperature: float | None,
    *,
    fresh: bool = False,
    reading: Reading = "planned",
) -> tuple[dict[str, str], Usage]:
    """One version of every planned source file (files the model fails to write keep their last version).

    A `fresh` version is written as in the first iteration: from the goal and the plan, seeing only
    the files of this same version, with no earlier code and no feedback. The `reading` says what
    the coder is shown: the goal and the plan ("planned"), the goal alone ("goal"), or the goal
    alone under a plain programmer's prompt with none of the coder's rules ("plain", as the model
    asked once), or the goal alone with the algorithm worked out in comments before the code
    ("reasoned").
    """
    previous = dict(state.get("files", {}))
    files = {} if fresh else dict(previous)
    spent = Usage()
    for spec in state.get("plan", {}).get("files", []):
        path = spec["path"]
        request = _request(
            state,
            files,
            path,
            spec.get("purpose", ""),
            with_feedback=not fresh,
            with_plan=reading == "planned",
            reason_first=reading == "reasoned",
        )
        system = PLAIN_SYSTEM if reading == "plain" else f"{CODER_SYSTEM}\n{guidance(state)}"
        messages = [SystemMessage(system), HumanMessage(request)]
        for attempt in range(2):
            try:
                call, used = ask_role(
                    runtime,
                    "coder",
                    write_file,
                    messages,
                    stop=source_stops(state) if path.endswith(".py") else None,
                    stop_when=runaway_table if path.endswith(".py") else None,
                    temperature=temperature,
                )
            except ModelOutputError as error:
                if path not in previous:
                    error.usage = spent + error.usage
                    raise
                spent += error.usage
                files.setdefault(path, previous[path])
                break  # keep the previous version; the tests and the reflector go on from there
            spent += used
            content = strip_fences(call.content)
            cut = cut_off_line(content) if path.endswith(".py") else None
            if path.endswith(".py"):
                # An answer ended at a stop keeps the blank lines before it: one newline ends
                # the file, so versions differing only there are the same version.
                content = strip_tests_from_source(salvage_python(content), api_names(state)).rstrip() + "\n"
            # The plan fixed the path: a model that renames the file would break the tests' imports.
            files[path] = content
            if attempt == 1:
                break
            # A file cut off is asked for again rather than kept missing its end, unless it is a
            # table of cases (ended by `runaway_table` or the output limit): that is refused as a
            # table, since a model asked to finish it goes on with the table.
            enumerated = literal_cases(content) if path.endswith(".py") else None
            if cut is not None and enumerated is None:
                emit("cut_off", path=path, line=cut)
                messages = [*messages, HumanMessage(cut_off_feedback(path, cut))]
                continue
            if enumerated is None:
                break
            # Answers enumerated for particular inputs: ask once more, saying why (the second
            # version is kept whatever it is; the tests judge it).
            emit("literal_cases", function=enumerated.function, count=enumerated.count)
            messages = [*messages, HumanMessage(enumerated.feedback(path))]
    return {**previous, **files}, spent


# Small models like to append tests to a source file: a top-level test function, property test or
# assert (inside the tool call's JSON string, a newline is the two characters backslash-n). Stopping
# there saves generating what `strip_tests_from_source` would remove anyway.
SOURCE_STOPS = ("\\ndef test_", "\\n@given", "\\nassert ")


def source_stops(state: AgentState) -> list[str]:
    """The stops for a Python source file, unless the API itself has a `test_...` function."""
    testlike_api = any(name.startswith("test_") for name in api_names(state))
    return [stop for stop in SOURCE_STOPS if not (testlike_api and "def test_" in stop)]


def _request(
    state: AgentState,
    files: dict[str, str],
    path: str,
    purpose: str,
    *,
    with_feedback: bool = True,
    with_plan: bool = True,
    reason_first: bool = False,
) -> str:
    """The coder's request, stable parts first so a local model can reuse its prompt cache."""
    plan = render_plan(state.get("plan", {})) if with_plan else ""
    parts = [f"Goal:\n{state.get('task', '')}", plan]
    if files:
        parts.append(render_files(files, "Current source files"))
    feedback = _feedback(state) if with_feedback else ""
    if feedback:
        parts.append(feedback)
    if reason_first:
        parts.append(REASON_FIRST)
    parts.append(f"Write the complete file `{path}` ({purpose}). Call write_file with path `{path}`.")
    return "\n\n".join(p for p in parts if p)


def _feedback(state: AgentState) -> str:
    """What went wrong last time and the plan to fix it."""
    parts: list[str] = []
    if state.get("safety_feedback"):
        parts.append(
            "The safety gate blocked the last attempt; remove these constructs:\n" + state["safety_feedback"]
        )
    report = state.get("report")
    if report and report.get("status") != "passed" and state.get("iteration", 0) > 0:
        parts.append("Last test run:\n" + render_report(report, limit=4))
    reflections = state.get("reflections", [])
    if reflections:
        last = reflections[-1]
        steps = "\n".join(f"- {s}" for s in last.get("fix_plan", []))
        parts.append(f"Diagnosis: {last.get('hypothesis', '')}\nFix plan:\n{steps}")
    return "\n\n".join(parts)


def _blocked(files: dict[str, str], state: AgentState, context: Context) -> bool:
    """Whether the safety gate would block this version (scanned alone, as before any test exists)."""
    return scan_files(files, state.get("language", "python"), rules_from(context)).blocked
