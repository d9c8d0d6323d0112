"""`agent-graph bench`: how often the agent solves benchmark problems, against the same model used once.

Each problem (one JSON object a line: task_id, language, prompt, entry_point, test) is given to
the agent as its goal; the agent never sees the hidden `test`. The code it leaves in its
workspace is then graded by that test in the sandbox. A program row (`profile` and `test_file`
instead of `entry_point`: the test is a whole test file) is graded by copying that file into a copy
of the final workspace and running the language's runner on it there, with the packages the task
installed mounted as in its own test runs. With `--baseline` the same model is also
asked once, with no loop, and graded the same way; with `--baseline-samples N` it is asked N
times, each answer graded on its own, and its pass@1 is their mean pass rate. Results go to a
JSONL file, one line per problem, so an interrupted benchmark resumes where it stopped; the agent's
run of the problem it stopped in goes on from its checkpoint (`<out>.started` names it).
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

from langchain_core.messages import HumanMessage, SystemMessage

from agent_graph.checkpoints.database import connection, database_url
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.context import Context
from agent_graph.errors import UserInputError
from agent_graph.llm import ModelOutputError, call_structured
from agent_graph.memory import history
from agent_graph.models import get_chat_model
from agent_graph.paths import dependencies_dir
from agent_graph.profiles import PROFILES
from agent_graph.prompts import PLAIN_REQUEST, PLAIN_SYSTEM
from agent_graph.roles import strip_fences
from agent_graph.runner import Observer, RunOutcome, new_task_id, resume_task, run_task
from agent_graph.sandbox.base import Sandbox
from agent_graph.sandbox.dependencies import detect_dependencies, load_allowlist, parse_requirement
from agent_graph.sandbox.dependency_install import (
    DependencyInstallError,
    Requirement,
    install,
    installed,
    probe_python,
)
from agent_graph.sandbox.findings import Ecosystem, is_test_file
from agent_graph.sandbox.registry import open_sandbox
from agent_graph.sandbox.runners import PYTEST_PLUGINS_OFF, TEST_FRAMEWORKS
from agent_graph.tools import write_file

REQUIRED = ("task_id", "prompt", "test")  # and entry_point (a function row) or test_file (a program row)
PROGRAM_GRADE_TIMEOUT = 120.0  # a program's hidden test starts processes or a web app per test


@dataclass
class Problem:
    task_id: str
    language: str
    prompt: str
    entry_point: str  # "" for a program row
    test: str
    profile: str = "library"
    test_file: str = ""  # a program row: the name the hidden test file takes in the workspace

    @property
    def is_program(self) -> bool:
        """A program row: graded by a whole hidden test file run by the language's runner."""
        return bool(self.test_file)


@dataclass
class ProblemResult:
    """One line of the results file."""

    task_id: str
    agent_passed: bool
    agent_status: str
    iterations: int
    tokens: int
    wall_seconds: float
    baseline_passed: bool | None = None  # the first answer of the model asked once
    baseline_tokens: int | None = None  # per answer, the mean over `baseline_samples`
    baseline_seconds: float | None = None  # per answer, likewise
    baseline_passes: int | None = None  # how many of the `baseline_samples` answers passed
    baseline_samples: int | None = None
    agent_task: str = ""
    error: str = ""
    agent_grade: str = ""  # what the hidden test said when the agent's code failed it
    agent_hidden_share: str = ""  # a program's hidden tests the agent's code passed ("3/8")
    cost_usd: float | None = None  # the agent's; None when a hosted model's price is unknown
    resumed: bool = False  # the agent's run was resumed from the checkpoint of an interrupted benchmark


def load_suite(path: Path, offset: int = 0, limit: int | None = None) -> list[Problem]:
    """Read a JSONL suite, or raise one clear sentence naming the bad line."""
    if not path.is_file():
        raise UserInputError(f"suite file {path} does not exist; give a JSONL file of problems.")
    problems: list[Problem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            raise UserInputError(f"line {number} of {path} is not valid JSON; fix or remove it.") from None
        missing = [k for k in REQUIRED if k not in data]
        if "entry_point" not in data and "test_file" not in data:
            missing.append("entry_point (or test_file)")
        if missing:
            raise UserInputError(f"line {number} of {path} lacks {', '.join(missing)}; see the suite format.")
        language = data.get("language", "python")
        if language not in ("python", "node"):
            raise UserInputError(f"line {number} of {path} has language {language!r}; use python or node.")
        profile = data.get("profile", "library")
        if profile not in PROFILES:
            raise UserInputError(
                f"line {number} of {path} has profile {profile!r}; use one of {', '.join(PROFILES)}."
            )
        test_file = str(data.get("test_file") or "")
        if test_file and ("/" in test_file or "\\" in test_file or not is_test_file(test_file)):
            raise UserInputError(
                f"line {number} of {path} has test_file {test_file!r}; give a plain test file name "
                "(test_*.py, *_test.py or *.test.js)."
            )
        problems.append(
            Problem(
                data["task_id"],
                language,
                data["prompt"],
                str(data.get("entry_point") or ""),
                data["test"],
                profile,
                test_file,
            )
        )
    end = None if limit is None else offset + limit
    return problems[offset:end]


def shard(problems: list[Problem], spec: str) -> list[Problem]:
    """The problems of shard `K/N`: every Nth one from the Kth (1-based), for N processes side by side.

    Interleaving balances the processes better than halves: hard problems cluster in a suite.
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UserInputError(f"--shard {spec!r} is not K/N with 1 <= K <= N; give e.g. 1/2 and 2/2.")
    number, count = int(match[1]), int(match[2])
    return problems[number - 1 :: count]


def goal_for(problem: Problem) -> str:
    """The agent's goal: the prompt only, and where to leave the function (a program's prompt
    already names its files, commands and routes)."""
    if problem.is_program:
        return problem.prompt.strip() + "\n"
    module = module_name(problem)
    extension = ".js" if problem.language == "node" else ".py"
    export = " and export it with module.exports" if problem.language == "node" else ""
    return (
        f"Implement the function `{problem.entry_point}` in the file `{module}{extension}`{export}, "
        f"keeping exactly this signature:\n\n{problem.prompt.strip()}\n"
    )


def module_name(problem: Problem) -> str:
    """The module the answer goes in: the function's name, or a program's main file's stem."""
    if problem.is_program:
        return Path(main_file(problem)).stem
    return re.sub(r"\W", "_", problem.entry_point)


def main_file(problem: Problem) -> str:
    """A program row's main file: the first file of its language the prompt names (`app.py`)."""
    extension = ".js" if problem.language == "node" else ".py"
    named = re.findall(rf"(?<![\w./-])([A-Za-z_][\w-]*{re.escape(extension)})\b", problem.prompt)
    return named[0] if named else ("index.js" if problem.language == "node" else "main.py")


@dataclass
class Grade:
    """The hidden test's verdict, and for a failure what it said (the failing assertion)."""

    passed: bool
    detail: str = ""
    share: str = ""  # a program's hidden tests passed of those run ("3/8"); "" when not counted


def grade(sandbox: Sandbox, problem: Problem, workspace: Path, timeout: float = 30.0) -> Grade:
    """Run the hidden test against the code in `workspace`, in the sandbox, on a copy."""
    if problem.is_program:
        return grade_program(sandbox, problem, workspace, max(timeout, PROGRAM_GRADE_TIMEOUT))
    with tempfile.TemporaryDirectory(prefix="agent-graph-grade-") as folder:
        root = Path(folder)
        for source in workspace.glob("*.py" if problem.language == "python" else "*.js"):
            if not source.name.startswith("test_") and ".test." not in source.name:
                shutil.copy(source, root / source.name)
        module = module_name(problem)
        if problem.language == "python":
            (root / "grade_hidden.py").write_text(
                f"from {module} import *  # noqa\nfrom {module} import {problem.entry_point}\n\n{problem.test}\n",
                encoding="utf-8",
            )
            command = ["python3", "grade_hidden.py"]
        else:
            (root / "grade_hidden.js").write_text(
                f"const {{ {problem.entry_point} }} = require('./{module}.js');\n{problem.test}\n",
                encoding="utf-8",
            )
            command = ["node", "grade_hidden.js"]
        if not (root / f"{module}{'.py' if problem.language == 'python' else '.js'}").is_file():
            return Grade(False, "the agent left no such file")
        result = sandbox.execute(command, root, timeout)
        if result.exit_code == 0 and not result.timed_out:
            return Grade(True)
        if result.timed_out:
            return Grade(False, f"timed out after {timeout:.0f} s")
        # the traceback's last lines, without Python's ^^^^ markers under the failing expression
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip().strip("^~")]
        return Grade(False, " | ".join(lines[-3:])[:400])


# Workspace entries never copied for grading: caches, and packages (they are mounted as in the run).
_NOT_COPIED = shutil.ignore_patterns("node_modules", "__pycache__", ".pytest_cache", ".git", ".hypothesis")
_FAILURE_LINE = re.compile(r"^(?:FAILED|ERROR)\b|^\s*(?:✖|not ok)\b")


def grade_program(sandbox: Sandbox, problem: Problem, workspace: Path, timeout: float) -> Grade:
    """A program row: its hidden test file copied into a copy of the final workspace (without the
    agent's own tests, which are not what is graded), run there by pytest or `node --test`."""
    if not workspace.is_dir() or not any(
        p for p in workspace.rglob("*") if p.is_file() and not is_test_file(p.name)
    ):
        return Grade(False, "the agent left no files")
    with tempfile.TemporaryDirectory(prefix="agent-graph-grade-") as folder:
        root = Path(folder) / "workspace"
        shutil.copytree(workspace, root, ignore=_NOT_COPIED, symlinks=False)
        for stale in [
            p for p in root.rglob("*") if p.is_file() and (is_test_file(p.name) or p.name == "conftest.py")
        ]:
            stale.unlink()
        (root / problem.test_file).write_text(problem.test, encoding="utf-8")
        if problem.language == "python":
            command = [
                "python3",
                "-m",
                "pytest",
                "-q",
                "--color=no",
                *PYTEST_PLUGINS_OFF,
                problem.test_file,
            ]
        else:
            command = ["node", "--test", problem.test_file]
        result = sandbox.execute(command, root, timeout)
    share = hidden_share(f"{result.stdout}\n{result.stderr}", problem.language)
    if result.exit_code == 0 and not result.timed_out:
        return Grade(True, share=share)
    if result.timed_out:
        return Grade(False, f"timed out after {timeout:.0f} s")
    lines = [line.strip() for line in f"{result.stdout}\n{result.stderr}".splitlines() if line.strip()]
    failures = [line for line in lines if _FAILURE_LINE.search(line)]
    return Grade(False, " | ".join(failures[:3] or lines[-3:])[:400], share)


def hidden_share(output: str, language: str) -> str:
    """ "passed/run" from the runner's summary (pytest's `2 failed, 5 passed`, node's `# pass 5`
    and `# tests 7`); "" when the file did not run (a collection error counts none as run)."""
    if language == "node":
        found = {k: int(v) for k, v in re.findall(r"^# (tests|pass) (\d+)\s*$", output, re.MULTILINE)}
        return f"{found['pass']}/{found['tests']}" if found.get("tests") else ""
    summary = next((line for line in reversed(output.splitlines()) if re.search(r" in [\d.]+s", line)), "")
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|error)", summary)}
    run = counts.get("passed", 0) + counts.get("failed", 0)
    return f"{counts.get('passed', 0)}/{run}" if run and not counts.get("error") else ""


def grade_run(sandbox: Sandbox, problem: Problem, workspace: Path, task_id: str, context: Context) -> Grade:
    """`grade` for the agent's run `task_id`: a program is graded with the packages that task
    installed, and those the hidden test itself imports (FastAPI's test client needs httpx, which
    the agent's own tests may never have asked for)."""
    if not problem.is_program:
        return grade(sandbox, problem, workspace)
    folder = dependencies_dir(task_id)
    task_packages = [_requirement(record) for record in installed(folder)]
    return grade_with_packages(sandbox, problem, workspace, context, f"bench-grade-{task_id}", task_packages)


def _requirement(record: str) -> Requirement:
    """`python:fastapi==1.0` (a task folder's record of what it installed) as a Requirement."""
    ecosystem, spec = record.split(":", 1)
    parsed = parse_requirement(spec) if ecosystem == "python" else None
    name, version = parsed if parsed else (spec, "")
    return Requirement(cast(Ecosystem, ecosystem), name, version)


def grade_baseline(sandbox: Sandbox, problem: Problem, workspace: Path, context: Context) -> Grade:
    """`grade` for a baseline answer; for a program, the allowlisted packages its code and the hidden
    test import are installed first (as the agent's install step would)."""
    if not problem.is_program:
        return grade(sandbox, problem, workspace)
    return grade_with_packages(sandbox, problem, workspace, context, f"bench-baseline-{problem.task_id}")


def grade_with_packages(
    sandbox: Sandbox,
    problem: Problem,
    workspace: Path,
    context: Context,
    owner: str,
    extra: Sequence[Requirement] = (),
) -> Grade:
    """`grade` for a program with `extra` and the allowlisted packages its files and the hidden test
    import installed first, into the bench's own dependency folder `owner`."""
    files = {p.name: p.read_text(encoding="utf-8") for p in workspace.iterdir() if p.is_file()}
    files[problem.test_file] = problem.test
    wanted = [
        Requirement(d.ecosystem, d.name, d.version)
        for d in detect_dependencies(files, load_allowlist())
        if d.classification == "allowed" and d.name.lower() not in TEST_FRAMEWORKS[d.ecosystem]
    ]
    wanted += [r for r in extra if r.name.lower() not in {w.name.lower() for w in wanted}]
    if not wanted:
        return grade(sandbox, problem, workspace)
    folder = dependencies_dir(owner)
    ecosystems: tuple[Ecosystem, ...] = ("python", "node")
    try:
        for ecosystem in ecosystems:
            requirements = [r for r in wanted if r.ecosystem == ecosystem]
            if requirements:
                target, provided = (
                    probe_python(sandbox, [r.name for r in requirements])
                    if ecosystem == "python"
                    else (None, set())
                )
                install(folder, ecosystem, requirements, target=target, provided=provided)
    except DependencyInstallError as error:
        return Grade(False, f"its packages could not be installed: {error}")
    with open_sandbox(replace(context.sandbox_settings(), dependencies_dir=str(folder)), owner) as grader:
        return grade(grader, problem, workspace)


def grade_files(sandbox: Sandbox, problem: Problem, files: dict[str, str], task_id: str = "") -> bool:
    """Whether these source files (path -> content) pass the problem's hidden test."""
    return grade_version(sandbox, problem, files, task_id).passed


def grade_version(sandbox: Sandbox, problem: Problem, files: dict[str, str], task_id: str = "") -> Grade:
    """The hidden test's verdict on these source files (path -> content); with the packages the
    agent's run `task_id` installed, when it installed any."""
    with tempfile.TemporaryDirectory(prefix="agent-graph-files-") as folder:
        for name, content in files.items():
            path = Path(folder) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        if task_id:
            return grade_run(sandbox, problem, Path(folder), task_id, Context())
        return grade(sandbox, problem, Path(folder))


def baseline(problem: Problem, context: Context, workspace: Path) -> tuple[int, float]:
    """Ask the model once, with no loop, and leave its answer in `workspace`; return tokens and seconds."""
    model = get_chat_model(context.model_for("coder"), context)
    extension = ".js" if problem.language == "node" else ".py"
    path = main_file(problem) if problem.is_program else f"{module_name(problem)}{extension}"
    started = time.monotonic()
    messages = [
        SystemMessage(PLAIN_SYSTEM),
        HumanMessage(PLAIN_REQUEST.format(goal=goal_for(problem), path=path)),
    ]
    try:
        call, usage = call_structured(model, write_file, messages, prices=context.prices())
        content, tokens = strip_fences(call.content), usage.total
    except ModelOutputError as error:  # graded as it is: an empty file fails; its tokens were spent
        content, tokens = "", error.usage.total
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / path).write_text(content, encoding="utf-8")
    return tokens, time.monotonic() - started


def load_results(out: Path) -> list[dict[str, Any]]:
    """The result rows of a results file (JSON lines), in order."""
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]


def done_ids(out: Path) -> set[str]:
    return {row["task_id"] for row in load_results(out)} if out.is_file() else set()


def started_path(out: Path) -> Path:
    """Where `run_suite` notes the agent's task of each problem as it starts (`<out>.started`)."""
    return out.with_name(out.name + ".started")


def _started_rows(out: Path) -> list[dict[str, Any]]:
    path = started_path(out)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def started_tasks(out: Path) -> dict[str, str]:
    """Each problem's latest agent task, as `run_suite` noted it."""
    return {row["problem"]: row["agent_task"] for row in _started_rows(out)}


def sittings_of(out: Path, task_id: str) -> list[float] | None:
    """When each sitting that started or resumed `task_id` began (Unix seconds), as noted; None
    when a note for it has no time (an older note), so that its sittings are unknown."""
    rows = [row for row in _started_rows(out) if row["agent_task"] == task_id]
    if any("at" not in row for row in rows):
        return None
    return [float(row["at"]) for row in rows]


def kept_seconds(sittings: Sequence[float], checkpoints: Sequence[float]) -> float:
    """The time earlier sittings spent on what their checkpoints kept: from each sitting's start to
    its last checkpoint (what it did after that was lost, and is done again by a later sitting)."""
    total = 0.0
    for start, end in zip(sittings, [*sittings[1:], float("inf")], strict=True):
        inside = [t for t in checkpoints if start <= t < end]
        if inside:
            total += max(inside) - start
    return total


def checkpoint_times(task_id: str) -> list[float]:
    """When each of the task's checkpoints was written (Unix seconds)."""
    with open_checkpointer(database_url()) as saver:
        return [
            datetime.fromisoformat(saved.checkpoint["ts"]).timestamp()
            for saved in saver.list({"configurable": {"thread_id": task_id}})
        ]


# A task's status once its run has ended; any other (running, interrupted) can be resumed.
ENDED = ("passed", "failed", "stopped")


def resumable(task_id: str) -> list[dict[str, Any]] | None:
    """The iterations task `task_id` recorded, when its run was cut off and can go on from its
    checkpoint; None when it never started or already ended."""
    with connection(database_url()) as conn:
        task = history.get_task(conn, task_id)
        if task is None or task["status"] in ENDED:
            return None
        return history.get_iterations(conn, task_id)


def run_suite(
    problems: list[Problem],
    context: Context,
    sandbox: Sandbox,
    out: Path,
    *,
    with_baseline: bool,
    scratch: Path,
    observer: Observer | None = None,
    baseline_samples: int = 1,
) -> Iterator[ProblemResult]:
    """Solve and grade each problem not yet in `out`; append each result as it is known. With the
    baseline, the model is asked `baseline_samples` times, each answer graded on its own.

    The agent's task of each problem is noted, with the time, each time a sitting starts or
    resumes it (`started_path`): a benchmark stopped in the middle of a problem resumes that task
    from its checkpoint, so a long run spread over several sittings loses no finished iteration,
    and its wall seconds add what the earlier sittings' checkpoints kept (`kept_seconds`), not the
    hours between sittings. A task that ended before its row was written is started again."""
    finished = done_ids(out)
    started = started_tasks(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for problem in problems:
        if problem.task_id in finished:
            continue
        task_id = started.get(problem.task_id, "")
        earlier = resumable(task_id) if task_id else None
        if earlier is None:
            task_id = new_task_id()
        sittings = sittings_of(out, task_id) if earlier is not None else []
        with started_path(out).open("a", encoding="utf-8") as handle:
            note = {"problem": problem.task_id, "agent_task": task_id, "at": round(time.time(), 3)}
            handle.write(json.dumps(note) + "\n")
        result = solve(
            problem,
            context,
            sandbox,
            with_baseline=with_baseline,
            scratch=scratch,
            observer=observer,
            baseline_samples=baseline_samples,
            run=partial(run_task, task_id=task_id) if earlier is None else _resuming(task_id),
        )
        if earlier is not None:
            # The earlier sittings' time up to their last checkpoints; with sittings noted without
            # a time, the time of the iterations they finished.
            earlier_seconds = (
                kept_seconds(sittings, checkpoint_times(task_id))
                if sittings is not None
                else sum(float(row["duration_seconds"] or 0) for row in earlier)
            )
            result = replace(
                result, resumed=True, wall_seconds=round(result.wall_seconds + earlier_seconds, 1)
            )
        with out.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(result)) + "\n")
        yield result


def _resuming(task_id: str) -> Callable[..., RunOutcome]:
    """`run_task`'s stand-in that continues the interrupted task `task_id` (with its own settings)."""

    def resume(*_: Any, observer: Observer | None = None, **__: Any) -> RunOutcome:
        return resume_task(task_id, observer=observer)

    return resume


def solve(
    problem: Problem,
    context: Context,
    sandbox: Sandbox,
    *,
    with_baseline: bool,
    scratch: Path,
    observer: Observer | None = None,
    baseline_samples: int = 1,
    run: Callable[..., RunOutcome] = run_task,
) -> ProblemResult:
    """One problem solved by the agent and graded, with the baseline if asked: one result row.

    `run` starts the agent's run (`run_task`'s signature); a Ray cluster passes one that resumes
    a run whose node died (`cluster.run_or_resume`), for the grading must happen where the code is.
    """
    started = time.monotonic()
    outcome = run(goal_for(problem), problem.language, problem.profile, context, observer=observer)
    result = ProblemResult(
        task_id=problem.task_id,
        agent_passed=(
            verdict := grade_run(sandbox, problem, Path(outcome.workspace), outcome.task_id, context)
        ).passed,
        agent_grade=verdict.detail,
        agent_hidden_share=verdict.share,
        agent_status=outcome.status,
        iterations=outcome.iterations,
        tokens=outcome.tokens,
        wall_seconds=round(time.monotonic() - started, 1),
        agent_task=outcome.task_id,
        cost_usd=outcome.cost_usd,
    )
    if with_baseline:
        verdicts, tokens, seconds = [], 0, 0.0
        for sample in range(baseline_samples):
            folder = scratch / f"baseline-{problem.task_id}-{sample + 1}"
            used, took = baseline(problem, context, folder)
            verdicts.append(grade_baseline(sandbox, problem, folder, context).passed)
            tokens, seconds = tokens + used, seconds + took
        result.baseline_passed, result.baseline_passes = verdicts[0], sum(verdicts)
        result.baseline_samples = baseline_samples
        result.baseline_tokens = round(tokens / baseline_samples)
        result.baseline_seconds = round(seconds / baseline_samples, 1)
    return result


def summarise(out: Path) -> dict[str, Any]:
    """Totals over every result in `out`."""
    return summarise_rows(load_results(out))


def summarise_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over result rows (as `summarise` reads them from a results file)."""
    if not rows:
        return {"problems": 0}
    with_base = [r for r in rows if r.get("baseline_passed") is not None]
    summary: dict[str, Any] = {
        "problems": len(rows),
        "agent_pass_at_1": round(sum(r["agent_passed"] for r in rows) / len(rows), 3),
        "median_iterations": statistics.median(r["iterations"] for r in rows),
        "median_tokens": statistics.median(r["tokens"] for r in rows),
        "median_wall_seconds": statistics.median(r["wall_seconds"] for r in rows),
        "agent_failed": [r["task_id"] for r in rows if not r["agent_passed"]],
    }
    shares = {r["task_id"]: r["agent_hidden_share"] for r in rows if r.get("agent_hidden_share")}
    if shares:  # programs: how much of each hidden test file the agent's code passed
        summary["agent_hidden_shares"] = shares
    if with_base:
        # pass@1 of the model asked once: per problem, the share of its answers that passed (one
        # answer is one draw of that share: on 40 MBPP problems it moved by up to 6 between runs).
        summary["baseline_pass_at_1"] = round(sum(baseline_rate(r) for r in with_base) / len(with_base), 3)
        summary["baseline_samples"] = max(r.get("baseline_samples") or 1 for r in with_base)
        summary["median_baseline_tokens"] = statistics.median(r["baseline_tokens"] or 0 for r in with_base)
        # Where the loop made the difference, either way: the problems to read first.
        summary["agent_only"] = [
            r["task_id"] for r in with_base if r["agent_passed"] and not baseline_rate(r)
        ]
        summary["baseline_only"] = [
            r["task_id"] for r in with_base if baseline_rate(r) and not r["agent_passed"]
        ]
    return summary


def baseline_rate(row: dict[str, Any]) -> float:
    """The share of a row's baseline answers that passed (rows written before several answers: the one)."""
    if row.get("baseline_passes") is None:
        return float(bool(row["baseline_passed"]))
    return row["baseline_passes"] / (row.get("baseline_samples") or 1)
