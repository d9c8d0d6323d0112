"""plan: turns the goal into subtasks, the files to write, the API and the contract the tests will check.

It runs at the start, and again when the reflector finds the same failure coming back however
the code and tests change (`strategy` "new_plan"): the new plan is told what the old one led to.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime

from agent_graph.checks.signature_check import goal_signatures
from agent_graph.context import Context
from agent_graph.paths import workspaces_dir
from agent_graph.prompts import PLANNER_SYSTEM, REPLAN
from agent_graph.prompts.render import guidance, planner_request, render_plan
from agent_graph.roles import NAME_CALL, ask_role, context_of, emit
from agent_graph.state import AgentState, FileSpec, Plan, ProgramPlan

_EXTENSION = {"python": ".py", "node": ".js"}


def plan(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Decompose the goal; fix the task id and workspace for the rest of the run."""
    context = context_of(runtime)
    goal = (state.get("task") or "").strip()
    if not goal:
        raise ValueError("the task is empty: say what the agent should build.")
    language = state.get("language") or "python"
    profile = state.get("profile") or "library"
    task_id = state.get("task_id") or _thread_id() or uuid.uuid4().hex[:12]
    workspace = state.get("workspace") or str(workspaces_dir(context.workspace_root) / task_id)
    replanning = bool(state.get("plan"))
    emit("phase", phase="planning", iteration=state.get("iteration", 0) if replanning else 0)
    hints = context.services.memory.pattern_hints(goal, language, task_id)
    replan = ""
    if replanning:
        replan = REPLAN.format(
            plan=render_plan(state.get("plan", {})),
            failure=next((a["error_summary"] for a in reversed(state.get("attempts") or [])), ""),
        )
    prompt = planner_request(goal, hints, replan)
    messages = [
        SystemMessage(f"{PLANNER_SYSTEM}\n{guidance({'language': language, 'profile': profile}, 'planner')}"),
        HumanMessage(prompt),
    ]
    budget = 700 if profile == "library" else 1000  # a program's contract takes more words
    schema = Plan if profile == "library" else ProgramPlan
    result, usage = ask_role(runtime, "planner", schema, messages, max_tokens=budget)
    result = normalise_plan(result, language, goal)
    emit("plan", subtasks=result.subtasks, files=[f.path for f in result.files])
    if replanning:  # the loop goes on from the new plan, with new tests and fresh code
        return {
            "plan": result.model_dump(),
            "regenerate_tests": True,
            "tokens": {"plan": usage.total},
            "cost_usd": {"plan": usage.cost_usd},
        }
    return {
        "task_id": task_id,
        "workspace": workspace,
        "language": language,
        "profile": profile,
        "plan": result.model_dump(),
        "files": {},
        "tests": {},
        "iteration": 1,
        "iteration_started": time.time(),
        "regenerate_tests": True,
        "status": "running",
        "tokens": {"plan": usage.total},
        "cost_usd": {"plan": usage.cost_usd},
    }


def normalise_plan(plan: Plan, language: str, goal: str) -> Plan:
    """Keep the plan's files usable: right extension, relative, not tests; at least one file. The
    functions the goal declares are in the API exactly as declared."""
    extension = _EXTENSION[language]
    kept: list[FileSpec] = []
    for spec in plan.files:
        path = spec.path.strip().lstrip("./").replace("\\", "/")
        name = Path(path).name
        if not path or ".." in Path(path).parts or _is_test_file(name):
            continue
        if Path(path).suffix not in (extension, ".json", ".md", ".txt", ".csv"):
            path = str(Path(path).with_suffix(extension))
        if path not in {k.path for k in kept}:
            kept.append(FileSpec(path=path, purpose=spec.purpose))
    if not any(k.path.endswith(extension) for k in kept):
        kept.insert(0, FileSpec(path=_default_module(goal, plan) + extension, purpose="The implementation."))
    update: dict[str, Any] = {"files": kept[:4], "public_api": with_declared_api(plan.public_api, goal)}
    if isinstance(plan, ProgramPlan) and plan.contract.entry_point not in {k.path for k in kept}:
        first = next(k.path for k in kept if k.path.endswith(extension))
        update["contract"] = plan.contract.model_copy(update={"entry_point": first})
    return plan.model_copy(update=update)


def with_declared_api(api: list[str], goal: str) -> list[str]:
    """The plan's API lines, those naming a function the goal declares replaced by its declaration,
    then each call the goal writes in backticks that no line names. The tester and the coder read
    the plan's copy: a small model copying a long typed signature can drop a bracket
    (`Tuple[int, int, Tuple[int, int]], int, int)`, read as three parameters), and every test file
    then calls the function with three arguments."""
    declared = {name: signature.declaration for name, signature in goal_signatures(goal).items()}
    others = [line for line in api if not set(NAME_CALL.findall(line)) & declared.keys()]
    lines = [*declared.values(), *others]
    named = {name for line in lines for name in NAME_CALL.findall(line)}
    for call in _GOAL_CALL.finditer(goal):  # what the plan's few lines left out of the goal's API
        if call.group(2) not in named and len(lines) < _MOST_API_LINES:
            lines.append(call.group(1))
            named.add(call.group(2))
    return lines


# A call the goal writes in backticks, `to_json()` or `Inventory.from_json(s)`: the snippet is
# group 1, the called name group 2. The plan lists at most six API lines; a class with more methods
# loses the last ones, and the coder, who writes from the plan, leaves them out.
_GOAL_CALL = re.compile(r"`((?:[A-Za-z_]\w*\.)?([A-Za-z_]\w*)\([^`()]*\))`")
_MOST_API_LINES = 12


def _is_test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith(("_test.py", ".test.js", ".spec.js"))


def _default_module(goal: str, plan: Plan) -> str:
    """A module name from the first function named in the API or the goal, else `solution`."""
    for text in [*plan.public_api, goal]:
        found = re.search(r"`?([A-Za-z_][A-Za-z0-9_]*)\s*\(", text)
        if found and found.group(1) not in {"def", "function", "print"}:
            return found.group(1)
    return "solution"


def _thread_id() -> str | None:
    try:
        value = get_config().get("configurable", {}).get("thread_id")
    except RuntimeError:
        return None
    return str(value) if value else None
