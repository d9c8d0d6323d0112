"""Runs and benchmarks on a Ray cluster whose nodes share one Postgres.

Everything a run needs to go on elsewhere is in Postgres (its checkpoints, the memory, the
history), so a run is one Ray task and the scheduler is Ray's: `run_on_cluster` submits a run
and relays its progress to the caller's observer, `bench_on_cluster` fans a suite's problems out
as tasks and yields each graded result as it finishes. The task id is chosen here, before the
task is submitted, so when a node dies and Ray retries the task on another node, the retry finds
that id's checkpoint and resumes it: the records are upserted by (task, iteration), so nothing
is lost and nothing is written twice.

Runs ask for one unit of the `sandbox` resource, which a node offers only when
`agent-graph sandbox doctor` passes there (`agent-graph cluster join` checks it, then starts the
Ray node). Models come from the run's settings, resolved on the node that runs it (a hosted
endpoint, or a GGUF path present on that node).

Ray is an optional extra (`agent-graph[cluster]`): it is imported only inside the functions
that talk to a cluster, so a command without `--cluster` never loads it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from pathlib import Path
from typing import Any

from agent_graph.checkpoints.database import connection
from agent_graph.checkpoints.migrations import migrate
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.context import Context
from agent_graph.errors import AgentGraphError, ServiceUnavailableError, UserInputError
from agent_graph.memory import history
from agent_graph.runner import Observer, QuietObserver, RunOutcome, new_task_id, resume_task, run_task

SANDBOX_RESOURCE = "sandbox"
MAX_RETRIES = 3  # how many lost nodes one run survives
POLL_SECONDS = 0.2  # how often the driver drains the progress queue
# What every task's process gets whatever its node's environment: no telemetry, no hub lookups.
QUIET_ENV = {
    "HF_HUB_OFFLINE": "1",
    "LANGSMITH_TRACING": "false",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
}


# ---------------------------------------------------------------------------- connecting


def shared_database_url() -> str:
    """`DATABASE_URL`, which every node must reach; the embedded database lives on one machine only."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        raise UserInputError(
            "cluster mode needs a database every node reaches: set DATABASE_URL to a Postgres server "
            "(the embedded one lives on this machine only)."
        )
    return url


def parse_address(address: str) -> tuple[str, int] | None:
    """The host and port `address` names (`host:port` or `ray://host:port`); None for `auto`."""
    address = address.strip()
    if address == "auto":
        return None
    match = re.fullmatch(r"(?:ray://)?\[?([^\s/\[\]]+?)\]?:(\d{1,5})", address)
    if not match or not 0 < int(match[2]) < 65536:
        raise UserInputError(
            f"--cluster {address!r} is not a Ray address; give the head's host:port (e.g. 10.0.0.5:6379) "
            "or ray://host:10001."
        )
    return match[1], int(match[2])


def _answers(host: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def session(address: str) -> Iterator[None]:
    """Connected to the cluster at `address` for the block, or one sentence (exit 2 or 3).

    The driver's `DATABASE_URL` is handed to every task, so workers need no database setting of
    their own; their stdout stays theirs (`log_to_driver=False`) so `--json` keeps its last line.
    """
    url = shared_database_url()
    target = parse_address(address)
    if target is not None and not _answers(*target):
        raise ServiceUnavailableError(
            f"no Ray cluster answers at {address}; start one with `ray start --head` or give the head's address."
        )
    ray = _import_ray()
    os.environ.update({k: v for k, v in QUIET_ENV.items() if k not in os.environ})
    try:
        ray.init(
            address=address,
            namespace="agent-graph",
            runtime_env={"env_vars": {**QUIET_ENV, "DATABASE_URL": url}},
            log_to_driver=False,
            logging_level="WARNING",
            configure_logging=False,
        )
    except Exception as exc:  # ConnectionError, RuntimeError, TimeoutError... from a peer that is not Ray
        raise ServiceUnavailableError(
            f"the Ray cluster at {address} did not accept the connection ({_first_line(exc)}); "
            "check that it is a Ray head (`ray status --address ...`)."
        ) from None
    try:
        sandboxes = ray.cluster_resources().get(SANDBOX_RESOURCE, 0)
        if sandboxes < 1:
            raise ServiceUnavailableError(
                f"no node of the Ray cluster at {address} offers a sandbox; start workers with "
                f"`agent-graph cluster join {address}` on machines where `agent-graph sandbox doctor` passes."
            )
        yield
    finally:
        ray.shutdown()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserInputError(
            "cluster mode needs Ray; install it with `pip install 'agent-graph[cluster]'`."
        ) from None
    return ray


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


# ---------------------------------------------------------------------------- workers


def sandbox_slots(config: Path | None = None) -> int:
    """How many runs this machine's sandbox takes at once: its cores when
    `agent-graph sandbox doctor` passes here, else 0 (the node then offers no sandbox)."""
    command = [sys.executable, "-m", "agent_graph.cli"]
    if config is not None:
        command += ["--config", str(config)]
    result = subprocess.run(
        [*command, "sandbox", "doctor", "--json"], capture_output=True, text=True, timeout=120
    )
    return (os.cpu_count() or 1) if result.returncode == 0 else 0


def node_resources(slots: int | None = None, config: Path | None = None) -> dict[str, float]:
    """The custom resources a Ray node on this machine offers: `sandbox` only where the doctor passes."""
    available = sandbox_slots(config)
    if not available:
        return {}
    return {SANDBOX_RESOURCE: float(available if slots is None else min(slots, available))}


def join_command(
    address: str, slots: int | None = None, config: Path | None = None, block: bool = False
) -> list[str]:
    """The `ray start` that makes this machine a worker of the cluster at `address`."""
    parse_address(address)
    ray_bin = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    command = [
        ray_bin,
        "start",
        f"--address={address}",
        f"--resources={json.dumps(node_resources(slots, config))}",
        "--disable-usage-stats",
    ]
    return [*command, "--block"] if block else command


# ---------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class PolicyApprover:
    """Answers a run's dependency requests on the node that runs it, where no one is at a terminal:
    yes with `--yes` and `safety.auto_approve_allowlisted`, as a local run without a terminal does."""

    approve: bool

    def __call__(self, request: dict[str, Any]) -> tuple[bool, str]:
        if self.approve:
            return True, "policy: --yes with safety.auto_approve_allowlisted"
        return False, "policy: non-interactive run"


class _Relay:
    """An observer on the node that forwards progress to the driver's queue (best effort: a lost
    event must never stop a run). A put that fails is tried again, since a retried task's first
    calls can meet a cluster still settling after a lost node; only a queue that keeps failing is
    given up."""

    ATTEMPTS = 3

    def __init__(self, queue: Any, task_id: str) -> None:
        self.queue, self.task_id = queue, task_id

    def _put(self, item: tuple[str, Any, Any]) -> None:
        if self.queue is None:
            return
        for attempt in range(self.ATTEMPTS):
            try:
                self.queue.put(item, timeout=10)
                return
            except Exception:  # the queue's actor is unreachable or full
                time.sleep(1 + attempt)
        self.queue = None  # gone for good: the run goes on unseen

    def on_update(self, node: str, update: dict[str, Any]) -> None:
        self._put(("update", node, update))

    def on_event(self, event: dict[str, Any]) -> None:
        self._put(("event", None, event))


def run_or_resume(
    goal: str,
    language: str,
    profile: str,
    context: Context,
    *,
    task_id: str,
    workspace: str | None = None,
    observer: Observer | None = None,
    approver: Callable[[dict[str, Any]], tuple[bool, str]] = PolicyApprover(False),
) -> RunOutcome:
    """Start task `task_id`, or, if an earlier attempt left a checkpoint (its node died), resume it.

    Runs in the task's process on a node. It first tells the observer where it runs and whether
    it resumes (the `cluster_node` event), which is how a retry is seen from the driver.
    """
    import ray

    resumed = _has_checkpoint(task_id)
    observer = observer or QuietObserver()
    observer.on_event(
        {
            "event": "cluster_node",
            "task_id": task_id,
            "node_id": ray.get_runtime_context().get_node_id(),
            "resumed": resumed,
        }
    )
    _fresh_scripted_models(context)
    if resumed:
        return resume_task(task_id, observer=observer, approver=approver)
    return run_task(
        goal,
        language,
        profile,
        context,
        workspace=workspace,
        task_id=task_id,
        observer=observer,
        approver=approver,
    )


def _has_checkpoint(task_id: str) -> bool:
    """Whether an earlier attempt of `task_id` recorded the task and a checkpoint to resume from
    (a task row alone means it died before its first step: it then starts again)."""
    with connection() as conn:
        migrate(conn)
        if history.get_task(conn, task_id) is None:
            return False
    with open_checkpointer(shared_database_url()) as saver:
        return saver.get_tuple({"configurable": {"thread_id": task_id}}) is not None


def _fresh_scripted_models(context: Context) -> None:
    """A `scripted:` model file holds one run's conversation, but models are cached per process and
    Ray reuses a worker process for many tasks: each task replays its script from the start, as it
    would in a process of its own. Other models stay cached (a local model's weights load slowly)."""
    specs = [
        getattr(context, f.name) for f in fields(context) if f.name == "model" or f.name.endswith("_model")
    ]
    if any(isinstance(spec, str) and spec.startswith("scripted:") for spec in specs):
        from agent_graph.models import release_models

        release_models()


def _run_task_body(
    goal: str,
    language: str,
    profile: str,
    context: Context,
    task_id: str,
    workspace: str | None,
    queue: Any,
    approver: PolicyApprover,
) -> RunOutcome | AgentGraphError:
    """The Ray task of one run. A user-facing error comes back as a value, so the driver can show
    its one sentence (Ray would wrap a raised one in a traceback)."""
    try:
        return run_or_resume(
            goal,
            language,
            profile,
            context,
            task_id=task_id,
            workspace=workspace,
            observer=_Relay(queue, task_id),
            approver=approver,
        )
    except AgentGraphError as exc:
        return exc


def _progress_queue() -> Any:
    """A queue actor on the driver's own node, so losing a worker node never loses the queue."""
    import ray
    from ray.util.queue import Queue
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    return Queue(
        maxsize=10_000,
        actor_options={
            "num_cpus": 0,
            "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=here, soft=True),
        },
    )


def portable(context: Context) -> Context:
    """The settings without their services: a sandbox and connections belong to this process, and
    the node that runs the task opens its own from the same settings."""
    return replace(context)


def _task_options(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "num_cpus": 1,
        "resources": {SANDBOX_RESOURCE: 1},
        "max_retries": MAX_RETRIES,  # retried when its worker or node dies...
        "retry_exceptions": False,  # ...not when the run itself raised
    }


@dataclass
class RunHandle:
    """A run submitted to the cluster: follow it to get its outcome."""

    task_id: str
    ref: Any
    queue: Any

    def follow(self, observer: Observer | None = None) -> RunOutcome:
        """Relay the run's progress to `observer` until it ends; its outcome, or its error raised.

        Ctrl-C or SIGTERM here cancel the task, which marks the run interrupted like a local one.
        """
        import ray

        observer = observer or QuietObserver()
        try:
            while True:
                done, _ = ray.wait([self.ref], timeout=POLL_SECONDS)
                _drain(self.queue, observer)
                if done:
                    break
            result = ray.get(self.ref)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # KeyboardInterrupt, TerminatedError
                ray.cancel(self.ref)
            # Its node (and every retry's) died, or it was cancelled; a run's own error is raised as it is.
            if isinstance(exc, ray.exceptions.RayError) and not isinstance(exc, ray.exceptions.RayTaskError):
                raise ServiceUnavailableError(
                    f"the run of task {self.task_id} was lost on the cluster ({_first_line(exc)}); "
                    f"continue it with `agent-graph resume {self.task_id}`."
                ) from None
            raise
        finally:
            _drain(self.queue, observer)
            ray.kill(self.queue.actor)
        if isinstance(result, AgentGraphError):
            raise result
        return result


def _drain(queue: Any, observer: Observer) -> None:
    try:
        items = queue.get_nowait_batch(queue.qsize())
    except Exception:  # the queue's actor is gone: nothing more to show
        return
    for kind, node, payload in items:
        if kind == "update":
            observer.on_update(node, payload)
        else:
            observer.on_event(payload)


def submit_run(
    goal: str,
    language: str,
    profile: str,
    context: Context,
    *,
    workspace: str | None = None,
    approve: bool = False,
    task_id: str | None = None,
) -> RunHandle:
    """Submit one run as a Ray task (inside `session`); the task id is fixed here, for the retries."""
    import ray

    task_id = task_id or new_task_id()
    queue = _progress_queue()
    remote = ray.remote(_run_task_body).options(**_task_options(f"agent-graph run {task_id}"))
    ref = remote.remote(
        goal, language, profile, portable(context), task_id, workspace, queue, PolicyApprover(approve)
    )
    return RunHandle(task_id, ref, queue)


def run_on_cluster(
    address: str,
    goal: str,
    language: str,
    profile: str,
    context: Context,
    *,
    workspace: str | None = None,
    observer: Observer | None = None,
    approve: bool = False,
) -> RunOutcome:
    """`agent-graph run --cluster ADDRESS`: the run as a Ray task, its progress shown here."""
    with session(address):
        handle = submit_run(goal, language, profile, context, workspace=workspace, approve=approve)
        return handle.follow(observer)


# ---------------------------------------------------------------------------- benchmarks


def _solve_task_body(
    problem: Any, context: Context, task_id: str, with_baseline: bool, baseline_samples: int
) -> dict[str, Any] | AgentGraphError:
    """The Ray task of one benchmark problem: the agent's run (resumed after a lost node) and its
    grading, both on the node, where the workspace is."""
    from agent_graph import bench

    grader = f"bench-grader-{task_id}"
    try:
        with tempfile.TemporaryDirectory(prefix="agent-graph-bench-") as scratch:
            result = bench.solve(
                problem,
                context,
                context.services.sandbox(grader),
                with_baseline=with_baseline,
                scratch=Path(scratch),
                baseline_samples=baseline_samples,
                run=partial(run_or_resume, task_id=task_id),
            )
        return asdict(result)
    except AgentGraphError as exc:
        return exc
    finally:
        context.services.release(grader)  # a worker process may be ended abruptly: leave none warm


def bench_on_cluster(
    address: str,
    problems: list[Any],
    context: Context,
    out: Path,
    *,
    with_baseline: bool,
    baseline_samples: int = 1,
) -> Iterator[Any]:
    """Fan the problems not yet in `out` out as Ray tasks; append and yield each result as it
    finishes (in finishing order), so an interrupted benchmark resumes where it stopped."""
    from agent_graph import bench

    finished = bench.done_ids(out)
    todo = [p for p in problems if p.task_id not in finished]
    out.parent.mkdir(parents=True, exist_ok=True)
    with session(address):
        import ray

        remote = ray.remote(_solve_task_body)
        shipped = ray.put(portable(context))
        pending: dict[Any, Any] = {}
        for problem in todo:
            task_id = new_task_id()
            options = _task_options(f"agent-graph bench {problem.task_id} ({task_id})")
            ref = remote.options(**options).remote(problem, shipped, task_id, with_baseline, baseline_samples)
            pending[ref] = problem
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                pending.pop(done[0])
                row = ray.get(done[0])
                if isinstance(row, AgentGraphError):
                    raise row
                with out.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")
                yield bench.ProblemResult(**row)
        except BaseException:
            for ref in pending:
                ray.cancel(ref)
            raise
