"""write_code: one version of the source files, written in its own graph branch.

The graph sends one branch per version (`workflow.versions_to_write`): in the first iteration each
from its own reading of the goal, later the first from the last diagnosis and the others hotter,
the last one fresh (from the goal and plan alone). A fixing branch first works with its file tools
(list, read, write, edit, bounded by `coder_tool_calls`); a whole-file rewrite is the fallback, the
way first, fresh and hotter versions are written, and the default for local models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from agent_graph.checks import functions_apply
from agent_graph.checks.literal_cases import literal_cases, runaway_table
from agent_graph.context import Context
from agent_graph.languages import adapter_for
from agent_graph.llm import ModelOutputError
from agent_graph.pricing import Usage
from agent_graph.prompts import (
    CODER_SYSTEM,
    CODER_TOOL_CALL,
    CODER_TOOL_RESULT,
    CODER_TOOLS,
    PLAIN_SYSTEM,
    REASON_FIRST,
)
from agent_graph.prompts.feedback import cut_off_feedback
from agent_graph.prompts.render import coder_request, coder_system
from agent_graph.roles import api_names, ask_role, context_of, emit, strip_fences
from agent_graph.state import AgentState, Version, VersionRequest
from agent_graph.tools import apply_file_action, file_action, write_file

Reading = Literal["planned", "goal", "plain", "reasoned"]
# The readings of the goal behind the first iteration's versions, in order; more versions are
# "planned" and hotter. The plan is one reading of the goal, and when it is wrong every planned
# version (and the tests, written from it too) shares it: the other readings give the choice
# versions that do not.
FIRST_READINGS: tuple[Reading, ...] = ("planned", "goal", "plain", "reasoned")

# Small models like to append tests to a Python source file: a top-level test function, property
# test or assert. Stopping there saves generating what `clean_source` would remove anyway. A line
# break is a real one under the local model's code grammar (`code_arguments`) and the two
# characters backslash-n under a schema's grammar: both forms.
SOURCE_STOPS = ("\\ndef test_", "\\n@given", "\\nassert ", "\ndef test_", "\n@given", "\nassert ")


def runaway_source(answer_so_far: str) -> bool:
    """Whether a source file's answer, as generated so far, has gone past the code: a Markdown
    fence on a later line (prose and example tests follow a program's end; a fenced file ends
    there too), or the file's opening lines written again (the model writing the file into
    itself, as a string to save). Either runs on to the output limit, minutes of a local model's
    time, and nothing after that point belongs in the file."""
    content = answer_so_far.find('"content"')  # the path, and the line the file starts on, come first
    lines = answer_so_far[max(content, 0) :].splitlines()
    if any(line.lstrip().startswith("```") for line in lines[1:]):
        return True
    opening = [line.strip() for line in lines[1:] if len(line.strip()) >= 8][:3]
    if len(opening) < 3:
        return False
    stripped = [line.strip() for line in lines]
    first = stripped.index(opening[0])
    return any(
        stripped[i : i + 3] == opening
        for i in range(first + 3, len(stripped) - 2)
        if stripped[i] == opening[0]
    )


def _stop_when(python: bool, source: bool, functions: bool) -> Callable[[str], bool] | None:
    """What ends a file answer early: a function goal's table of literal cases, any source file's runaway."""
    if not source:
        return None
    if python and functions:
        return lambda text: runaway_table(text) or runaway_source(text)
    return runaway_source


def write_code(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write one version of every planned source file; it joins the iteration's candidates. The
    graph sends each branch the state and which version it writes (`VersionRequest`)."""
    request = cast(VersionRequest, state)
    context = context_of(runtime)
    iteration = request.get("iteration", 1)
    sample = request.get("sample", 1)
    emit("phase", phase="coding", iteration=iteration, sample=sample)
    reading: Reading = request.get("reading", "planned")  # type: ignore[assignment]
    temperature = context.sample_temperature if request.get("hot") else None
    fresh = bool(request.get("fresh"))
    spent = Usage()
    files: dict[str, str] | None = None
    try:
        tools = sample == 1 and not fresh and iteration > 1 and bool(request.get("files"))
        if tools and context.tool_calls_for_coder() > 0:
            files, spent = fix_with_tools(request, runtime, temperature)
        if files is None:
            files, used = write_version(request, runtime, temperature, fresh=fresh, reading=reading)
            spent += used
    except ModelOutputError as error:
        if sample == 1:  # the run cannot go on without a first version; the others are extra
            error.usage = spent + error.usage
            raise
        emit("sample_failed", iteration=iteration, sample=sample, reason=str(error))
        return {"tokens": {"code": (spent + error.usage).total}, "cost_usd": {"code": error.usage.cost_usd}}
    version: Version = {
        "iteration": iteration,
        "sample": sample,
        "fresh": fresh,
        "reading": reading,
        "files": files,
    }
    return {
        "candidates": [version],
        "versions": [version],
        "tokens": {"code": spent.total},
        "cost_usd": {"code": spent.cost_usd},
    }


def write_version(
    state: AgentState,
    runtime: Runtime[Context],
    temperature: float | None,
    *,
    fresh: bool = False,
    reading: Reading = "planned",
) -> tuple[dict[str, str], Usage]:
    """One version of every planned source file, each written whole through a forced `write_file`
    (files the model fails to write keep their last version).

    A `fresh` version is written from the goal and the plan, seeing only the files of this same
    version, with no earlier code and no feedback. The `reading` says what the coder is shown: the
    goal and the plan ("planned"), the goal alone ("goal"), the goal alone under a plain
    programmer's prompt ("plain", as the model asked once), or the goal alone with the algorithm
    worked out in comments before the code ("reasoned").
    """
    context = context_of(runtime)
    adapter = adapter_for(state.get("language"))
    python = adapter.name == "python"
    functions = functions_apply(state, context)
    previous = dict(state.get("files", {}))
    files = {} if fresh else dict(previous)
    spent = Usage()
    for spec in state.get("plan", {}).get("files", []):
        path = spec["path"]
        source = path.endswith(adapter.source_suffix)
        request = coder_request(
            state,
            files,
            path,
            spec.get("purpose", ""),
            with_feedback=not fresh,
            with_plan=reading == "planned",
            extra=REASON_FIRST if reading == "reasoned" else "",
        )
        system = PLAIN_SYSTEM if reading == "plain" else coder_system(state, CODER_SYSTEM)
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(request)]
        for attempt in range(2):
            try:
                call, used = ask_role(
                    runtime,
                    "coder",
                    write_file,
                    messages,
                    max_tokens=output_budget(state, context),
                    stop=source_stops(state) if python and source else None,
                    stop_when=_stop_when(python, source, functions),
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
            cut = adapter.cut_off_line(content) if source else None
            if source:
                content = adapter.clean_source(content, api_names(state))
            files[path] = content  # the plan fixed the path: a renamed file would break the tests
            if attempt == 1:
                break
            # A file cut off is asked for again rather than kept missing its end, unless it is a
            # table of cases (ended by `runaway_table` or the output limit): that is refused as a
            # table, since a model asked to finish it goes on with the table.
            enumerated = literal_cases(content) if python and source and functions else None
            if cut is not None and enumerated is None:
                emit("cut_off", path=path, line=cut)
                messages = [*messages, HumanMessage(cut_off_feedback(path, cut))]
                continue
            if enumerated is None:
                break
            emit("literal_cases", function=enumerated.function, count=enumerated.count)
            messages = [*messages, HumanMessage(enumerated.feedback(path))]
    return {**previous, **files}, spent


def fix_with_tools(
    state: AgentState, runtime: Runtime[Context], temperature: float | None
) -> tuple[dict[str, str] | None, Usage]:
    """Fix the current version with file actions the model chooses, at most `coder_tool_calls` of
    them; the fixed files, or None when the model changed nothing (the caller then rewrites whole
    files). A file left cut off or unparsable counts as no fix."""
    context = context_of(runtime)
    adapter = adapter_for(state.get("language"))
    writable = {spec["path"] for spec in state.get("plan", {}).get("files", [])}
    files = dict(state.get("files", {}))
    visible = {**files, **state.get("tests", {})}
    request = coder_request(state, {}, "", "", with_feedback=True, with_plan=True, extra=CODER_TOOLS)
    request += "\n\nFiles: " + ", ".join(sorted(visible))
    messages: list[BaseMessage] = [SystemMessage(coder_system(state, CODER_SYSTEM)), HumanMessage(request)]
    spent = Usage()
    changed = False
    for _ in range(context.tool_calls_for_coder()):
        call, used = ask_role(
            runtime,
            "coder",
            file_action,
            messages,
            max_tokens=output_budget(state, context),
            temperature=temperature,
        )
        spent += used
        if call.action == "done":
            break
        if call.action in ("write", "edit"):
            call = call.model_copy(update={"content": strip_fences(call.content)})
        result = apply_file_action(visible, call, writable)
        changed = changed or result.startswith(("wrote", "edited"))
        emit(
            "file_action",
            action=call.action,
            path=call.path,
            result=result.splitlines()[0][:80] if result else "",
        )
        messages = [
            *messages,
            AIMessage(CODER_TOOL_CALL.format(action=call.action, path=call.path).strip()),
            HumanMessage(CODER_TOOL_RESULT.format(action=call.action, path=call.path, result=result[:4000])),
        ]
    fixed = {path: visible[path] for path in files.keys() | writable if path in visible}
    whole = all(
        adapter.cut_off_line(content) is None
        for path, content in fixed.items()
        if path.endswith(adapter.source_suffix)
    )
    if not changed or not whole:
        return None, spent
    return {
        p: adapter.clean_source(c, api_names(state)) if p.endswith(adapter.source_suffix) else c
        for p, c in fixed.items()
    }, spent


def output_budget(state: AgentState, context: Context) -> int:
    """Most tokens one file answer may take: a program (any profile but a library, or a plan of
    several files) gets half as much again as a function, within half the context window."""
    if state.get("profile", "library") == "library" and len(state.get("plan", {}).get("files", [])) <= 1:
        return context.max_output_tokens
    return min(context.max_output_tokens * 3 // 2, context.context_size // 2)


def source_stops(state: AgentState) -> list[str]:
    """The stops for a Python source file, unless the API itself has a `test_...` function."""
    testlike_api = any(name.startswith("test_") for name in api_names(state))
    return [stop for stop in SOURCE_STOPS if not (testlike_api and "def test_" in stop)]


def first_iteration_version(number: int) -> tuple[Reading, bool]:
    """The reading the first iteration's version `number` (0-based) is written from, and whether it
    is written at the hotter `sample_temperature`."""
    if number < len(FIRST_READINGS):
        return FIRST_READINGS[number], False
    return "planned", True
