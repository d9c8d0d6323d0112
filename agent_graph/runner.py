"""Drive the graph for one task: start or resume it, keep the records, report progress.

The runner owns persistence (a Postgres checkpointer with synchronous durability, so every
finished super-step is on disk before the next begins) and projects each new checkpoint into
the `tasks` and `iterations` tables. Nodes stay free of database code.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, StreamMode

from agent_graph.checkpoints.database import connection, database_url
from agent_graph.checkpoints.migrations import migrate
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.context import Context
from agent_graph.errors import (
    ServiceUnavailableError,
    TerminatedError,
    UserInputError,
    model_service_error,
)
from agent_graph.goals import check_goal
from agent_graph.llm import ModelOutputError
from agent_graph.logs import EventLog, log_path, open_logger
from agent_graph.memory import history
from agent_graph.models import get_chat_model, resolve_spec
from agent_graph.paths import workspaces_dir
from agent_graph.pricing import total_cost, unpriced
from agent_graph.profiles import profile_for
from agent_graph.sandbox.base import SandboxUnavailableError
from agent_graph.state import merge_counts
from agent_graph.workflow import builder


class Observer(Protocol):
    """Receives progress: node updates and the custom events nodes emit."""

    def on_update(self, node: str, update: dict[str, Any]) -> None: ...

    def on_event(self, event: dict[str, Any]) -> None: ...


class QuietObserver:
    def on_update(self, node: str, update: dict[str, Any]) -> None:
        pass

    def on_event(self, event: dict[str, Any]) -> None:
        pass


class FanOut:
    """Passes progress to several observers (the terminal and the JSON log)."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def on_update(self, node: str, update: dict[str, Any]) -> None:
        for observer in self.observers:
            observer.on_update(node, update)

    def on_event(self, event: dict[str, Any]) -> None:
        for observer in self.observers:
            observer.on_event(event)


@dataclass
class RunOutcome:
    """How a run ended: the object `agent-graph run --json` prints."""

    task_id: str
    status: str
    iterations: int
    workspace: str
    tests: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    stop_reason: str = ""
    cost_usd: float | None = None  # None: a hosted model's price is unknown (set models.price_*)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


STREAM_MODES: list[StreamMode] = ["updates", "custom"]


Approver = Callable[[dict[str, Any]], tuple[bool, str]]


def deny_by_policy(request: dict[str, Any]) -> tuple[bool, str]:
    """The default for runs nobody watches: no new dependency without a human's yes."""
    return False, "policy: non-interactive run"


def new_task_id() -> str:
    return uuid.uuid4().hex[:12]


def run_task(
    goal: str,
    language: str,
    profile: str,
    context: Context,
    *,
    workspace: str | None = None,
    task_id: str | None = None,
    observer: Observer | None = None,
    approver: Approver = deny_by_policy,
) -> RunOutcome:
    """Run a new task to its end; `approver` answers dependency requests."""
    check_goal(goal)
    profile_for(profile)  # an unknown profile is one sentence, before anything is recorded
    task_id = task_id or new_task_id()
    workspace = workspace or str(workspaces_dir(context.workspace_root) / task_id)
    # Resolve the models before anything is recorded: "no model" is exit 3 and a missing key exit 2,
    # not a failed task.
    context = _with_resolved_model(context)
    open_models(context)
    url = database_url()
    with connection(url) as conn:
        migrate(conn)
        history.create_task(
            conn,
            task_id=task_id,
            goal=goal,
            language=language,
            profile=profile,
            workspace=workspace,
            model=context.model,
            context=asdict(context),
        )
    graph_input = {
        "task": goal,
        "language": language,
        "profile": profile,
        "task_id": task_id,
        "workspace": workspace,
    }
    return _drive(url, task_id, graph_input, context, observer or QuietObserver(), approver)


def resume_task(
    task_id: str,
    *,
    observer: Observer | None = None,
    approver: Approver = deny_by_policy,
    base_url: str | None = None,
) -> RunOutcome:
    """Continue an interrupted task from its last checkpoint, with the settings it started with
    (and `base_url` instead of its own, when its model server has moved)."""
    url = database_url()
    with connection(url) as conn:
        migrate(conn)
        row = history.get_task(conn, task_id)
    if row is None:
        raise UserInputError(f"there is no task {task_id!r}; `agent-graph history` lists the tasks.")
    if row["status"] in ("passed", "failed", "stopped"):
        raise UserInputError(f"task {task_id} already ended ({row['status']}); start a new run instead.")
    stored: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in (row["context"] or {}).items()
        if k in Context.__dataclass_fields__
    }
    context = replace(Context(), **stored)
    if base_url is not None:
        context = replace(context, base_url=base_url)
    open_models(context)
    return _drive(url, task_id, None, context, observer or QuietObserver(), approver)


def final_files(task_id: str) -> dict[str, str]:
    """The task's code and tests as its last checkpoint holds them (the best attempt, for a stopped run)."""
    with open_checkpointer(database_url()) as saver:
        values = (
            builder.compile(checkpointer=saver).get_state({"configurable": {"thread_id": task_id}}).values
        )
    return {**values.get("files", {}), **values.get("tests", {})}


def _with_resolved_model(context: Context) -> Context:
    return replace(context, model=resolve_spec(context.model, context.base_url))


ROLES = ("planner", "coder", "tester", "reflector")


def open_models(context: Context) -> dict[str, str]:
    """Build each role's chat model now, so that a bad spec or a missing key is one sentence before
    the run starts; return the roles whose model has no known price, with its spec (a cost budget
    cannot count their calls)."""
    return {
        role: context.model_for(role)
        for role in ROLES
        if unpriced(get_chat_model(context.model_for(role), context), context.prices())
    }


def _drive(
    url: str, task_id: str, graph_input: Any, context: Context, observer: Observer, approver: Approver
) -> RunOutcome:
    config: RunnableConfig = {
        "configurable": {"thread_id": task_id},
        # an iteration is at most write_code, safety, write_tests (asked again up to twice), select,
        # run_tests and reflect, plus a new plan now and then; the circuit breaker stops it first
        "recursion_limit": 10 * context.max_iterations + 10,
    }
    log = EventLog(
        open_logger(log_path(context.log_file), context.log_max_bytes, context.log_backup_count), task_id
    )
    observer = FanOut(observer, log)
    with open_checkpointer(url) as saver, connection(url) as conn:
        graph = builder.compile(checkpointer=saver)
        if graph_input is None and not graph.get_state(config).next:
            raise UserInputError(f"task {task_id} has no checkpoint to resume from; start a new run instead.")
        if graph_input is None:
            log.write("run_resumed", model=context.model)
        else:
            log.write(
                "run_started", goal=graph_input["task"], language=graph_input["language"], model=context.model
            )
        try:
            while True:
                _stream(graph, graph_input, config, context, conn, task_id, observer)
                pending = [i for t in graph.get_state(config).tasks for i in t.interrupts]
                if not pending:
                    break
                # A node asked a human (a dependency to approve): answer, record, and go on.
                request = pending[0].value if isinstance(pending[0].value, dict) else {}
                approved, decided_by = approver(request)
                history.record_approval(conn, task_id, request, approved, decided_by)
                log.write(
                    "approval_decided",
                    package=request.get("package"),
                    decision="approved" if approved else "denied",
                    decided_by=decided_by,
                )
                graph_input = Command(resume={"approved": approved})
        except (KeyboardInterrupt, TerminatedError) as stop:
            history.set_status(conn, task_id, "interrupted")
            reason = "terminated" if isinstance(stop, TerminatedError) else "keyboard interrupt"
            log.write("run_interrupted", logging.WARNING, reason=reason)
            raise
        except SandboxUnavailableError as exc:
            history.set_status(conn, task_id, "interrupted")
            log.write("run_interrupted", logging.ERROR, reason=str(exc))
            raise ServiceUnavailableError(str(exc)) from None
        except ModelOutputError as exc:
            values = with_unusable_answers(graph.get_state(config).values, exc)
            history.sync_run(conn, task_id, values)
            history.set_status(conn, task_id, "failed")
            outcome = _outcome(task_id, {**values, "status": "failed", "stop_reason": str(exc)})
            log.write("run_finished", logging.ERROR, **outcome.to_dict())
            return outcome
        except Exception as exc:
            error = model_service_error(exc)
            if error is None:
                raise
            # The failed step left no checkpoint; the one before it is intact, so `resume` re-runs it.
            history.set_status(conn, task_id, "interrupted")
            log.write("run_interrupted", logging.ERROR, reason=str(error))
            when = "once the server is back" if error.exit_code == 3 else "once the setting is fixed"
            raise type(error)(
                f"{str(error).rstrip('.')}; the run is saved, and `agent-graph resume {task_id}` continues it {when}."
            ) from None
        values = graph.get_state(config).values
        history.sync_run(conn, task_id, values)
        status = values.get("status", "running")
        history.set_status(conn, task_id, status if status != "running" else "interrupted")
        outcome = _outcome(task_id, values)
        log.write("run_finished", **outcome.to_dict())
        return outcome


def _stream(
    graph: Any,
    graph_input: Any,
    config: RunnableConfig,
    context: Context,
    conn: Any,
    task_id: str,
    observer: Observer,
) -> None:
    """Run the graph until it ends or waits, keeping the records in step with each checkpoint."""
    for mode, chunk in graph.stream(  # (mode, payload) pairs, since several modes are streamed
        graph_input, config, context=context, stream_mode=STREAM_MODES, durability="sync"
    ):
        if not isinstance(chunk, dict):
            continue
        if mode == "custom":
            observer.on_event(chunk)
            continue
        history.sync_run(conn, task_id, graph.get_state(config).values)
        for node, update in chunk.items():
            observer.on_update(node, update if isinstance(update, dict) else {})


def with_unusable_answers(values: dict[str, Any], error: ModelOutputError) -> dict[str, Any]:
    """A checkpoint's state plus the tokens and cost of the answers that ended the run unusable:
    their node raised, so no checkpoint holds them, yet they were generated (and, hosted, paid for)."""
    phase = error.phase or "unknown"
    return {
        **values,
        "tokens": merge_counts(values.get("tokens"), {phase: error.usage.total}),
        "cost_usd": merge_counts(values.get("cost_usd"), {phase: error.usage.cost_usd}),
    }


def _outcome(task_id: str, values: dict[str, Any]) -> RunOutcome:
    report = values.get("report") or {}
    return RunOutcome(
        task_id=task_id,
        status=values.get("status", "failed"),
        iterations=values.get("iteration", 0),
        workspace=values.get("workspace", ""),
        tests={
            "passed": report.get("passed", 0),
            "failed": report.get("failed", 0) + report.get("errors", 0),
        },
        tokens=sum((values.get("tokens") or {}).values()),
        stop_reason=values.get("stop_reason", ""),
        cost_usd=run_cost(values),
    )


def run_cost(values: dict[str, Any]) -> float | None:
    """The run's cost in USD from its per-phase costs; None when any call's price was unknown."""
    total = total_cost(values.get("cost_usd"))
    return None if total is None else round(total, 6)
