"""The graph's state, declared once.

The input is narrow (task, language, profile); everything else is the loop's own bookkeeping.
Code and tests live in the state as well as on disk, so a checkpoint can rebuild the workspace
exactly. Lists that grow are bounded by their reducers: `candidates` holds the current
iteration's versions only, and `versions` one entry per distinct version (with its copy count),
the most recent `MAX_VERSIONS`, so a long run's checkpoints stay small.
"""

from __future__ import annotations

import hashlib
import json
import operator
from typing import Annotated, Any, Literal, NotRequired, TypeVar

from pydantic import BaseModel, Field, field_validator

# typing_extensions' TypedDict, not typing's: on Python 3.11 pydantic can only build a JSON
# schema from the former, and LangGraph's server needs the input/output schemas for Studio.
from typing_extensions import TypedDict

RunStatus = Literal["running", "passed", "failed", "stopped"]


Number = TypeVar("Number", int, float)


def merge_counts(left: dict[str, Number] | None, right: dict[str, Number] | None) -> dict[str, Number]:
    """Reducer: add counts (tokens, dollars) per phase."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        merged[key] = merged.get(key, 0) + value
    return merged


# Bounds on what the model may write. In the JSON schema they become maxItems/maxLength, which
# llama.cpp turns into its sampling grammar: a small model cannot ramble for thousands of tokens.
# Providers that ignore them are truncated by the validators instead of failing validation.
_SHORT = 300
_LIST = 6


def _truncate(value: object, items: int) -> object:
    if isinstance(value, list):
        return [v[:_SHORT] if isinstance(v, str) else v for v in value[:items]]
    return value


class FileSpec(BaseModel):
    """A file the plan asks for."""

    path: str = Field(max_length=120, description="Path relative to the workspace, e.g. 'top_words.py'.")
    purpose: str = Field(max_length=_SHORT, description="What goes in it, in one sentence.")


class Plan(BaseModel):
    """The planner's decomposition of the goal."""

    summary: str = Field(max_length=_SHORT, description="One sentence: what will be built.")
    subtasks: list[str] = Field(max_length=_LIST, description="Ordered, concrete steps, 2 to 6 of them.")
    files: list[FileSpec] = Field(max_length=4, description="The source files to write (not the tests).")
    public_api: list[str] = Field(
        default_factory=list,
        max_length=_LIST,
        description="Signatures the tests will call, e.g. 'top_words(text: str, n: int) -> list[tuple[str, int]]'.",
    )
    edge_cases: list[str] = Field(
        default_factory=list, max_length=_LIST, description="Edge cases the code must handle, at most 6."
    )

    @field_validator("summary", mode="before")
    @classmethod
    def _short_summary(cls, value: object) -> object:
        return value[:_SHORT] if isinstance(value, str) else value

    @field_validator("subtasks", "public_api", "edge_cases", mode="before")
    @classmethod
    def _short_lists(cls, value: object) -> object:
        return _truncate(value, _LIST)

    @field_validator("files", mode="before")
    @classmethod
    def _few_files(cls, value: object) -> object:
        return value[:4] if isinstance(value, list) else value


class Contract(BaseModel):
    """How the program is exercised, as the plan fixes it for the coder and the tester alike."""

    entry_point: str = Field(
        default="",
        max_length=120,
        description="The file users run or import, e.g. 'todo.py' or 'server.js'.",
    )
    behaviours: list[str] = Field(
        default_factory=list,
        max_length=_LIST,
        description="Observable behaviours, one per line, as the profile asks: a command and its "
        "output and exit status, a route and its status code and body, an input file and what is written.",
    )

    @field_validator("entry_point", mode="before")
    @classmethod
    def _short_entry(cls, value: object) -> object:
        return value[:120] if isinstance(value, str) else value

    @field_validator("behaviours", mode="before")
    @classmethod
    def _short_behaviours(cls, value: object) -> object:
        return _truncate(value, _LIST)


class ProgramPlan(Plan):
    """The planner's decomposition of a goal for a program: the plan and its contract."""

    contract: Contract = Field(
        default_factory=Contract,
        description="The entry point and the behaviours the tests will check.",
    )


class Reflection(BaseModel):
    """The reflector's reading of a failed iteration."""

    hypothesis: str = Field(
        max_length=_SHORT, description="One sentence: the most likely cause of the failures."
    )
    fix_plan: list[str] = Field(
        max_length=4, description="Concrete changes for the next attempt, 1 to 4 steps."
    )
    tests_are_wrong: bool = Field(
        default=False,
        description="True only if a failing test contradicts the task statement and the tests must be rewritten.",
    )

    @field_validator("hypothesis", mode="before")
    @classmethod
    def _short_hypothesis(cls, value: object) -> object:
        return value[:_SHORT] if isinstance(value, str) else value

    @field_validator("fix_plan", mode="before")
    @classmethod
    def _short_plan(cls, value: object) -> object:
        return _truncate(value, 4)


class Attempt(TypedDict):
    """One finished iteration, as recorded in the `iterations` table."""

    iteration: int
    status: str  # passed | failed | error | timeout | blocked
    tests_passed: int
    tests_failed: int
    error_summary: str
    duration_seconds: float
    tokens: int  # spent by the whole run so far
    phase_tokens: dict[str, int]  # the same, per phase (plan, code, test, reflect)
    files: list[str]
    failures: dict[str, str]  # failing test -> its assertion message
    code_hash: str  # of the source files tested, to tell whether the code changed between attempts


class Version(TypedDict):
    """One version of the source files the coder wrote, chosen or not."""

    iteration: int
    sample: int  # 1-based, within its iteration
    fresh: bool  # written from the goal and plan alone
    planned: NotRequired[bool]  # runs recorded before `reading`: False for the goal-alone version
    reading: NotRequired[str]  # what the coder was shown: "planned", "goal", "plain" or "reasoned" (coder.py)
    copies: NotRequired[int]  # how often the run wrote it word for word (`keep_versions`)
    files: dict[str, str]


MAX_VERSIONS = 12  # distinct versions a checkpoint keeps for a stopped run's final choice


def code_hash(files: dict[str, str]) -> str:
    """A short digest of a version's files: the same code, the same hash."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


def this_iteration(left: list[Version] | None, right: list[Version] | None) -> list[Version]:
    """Reducer: the versions of the newest iteration only, in sample order (parallel writers
    finish in any order)."""
    incoming = right or []
    if not incoming:
        return list(left or [])
    newest = max(v["iteration"] for v in incoming)
    kept = [v for v in (left or []) if v["iteration"] == newest]
    return sorted(kept + [v for v in incoming if v["iteration"] == newest], key=lambda v: v["sample"])


def keep_versions(left: list[Version] | None, right: list[Version] | None) -> list[Version]:
    """Reducer: one entry per distinct version (the latest writing, with its copy count), the most
    recent `MAX_VERSIONS` of them."""
    merged: dict[str, Version] = {code_hash(v["files"]): v for v in left or []}
    for version in right or []:
        digest = code_hash(version["files"])
        earlier = merged.pop(digest, None)
        copies = (earlier.get("copies", 1) if earlier else 0) + version.get("copies", 1)
        merged[digest] = {**version, "copies": copies}
    return list(merged.values())[-MAX_VERSIONS:]


class InputState(TypedDict, total=False):
    """What a caller provides."""

    task: str
    language: Literal["python", "node"]
    profile: Literal["library", "cli_tool", "web_app", "data_pipeline"]
    task_id: str
    workspace: str


class AgentState(InputState, total=False):
    """The whole state of a run."""

    plan: dict[str, Any]
    files: dict[str, str]  # source files, path -> content
    tests: dict[str, str]  # test files, path -> content
    report: dict[str, Any]  # the last TestReport, as a dict
    safety_feedback: str  # findings from the static gate, for the coder
    reflections: Annotated[list[dict[str, Any]], operator.add]
    attempts: Annotated[list[Attempt], operator.add]
    iteration: int
    iteration_started: float  # wall clock when the current iteration's coding began
    regenerate_tests: bool
    test_feedback: str  # why the tester must write the tests again ('' when it need not)
    test_asks: int  # how often the tester was asked again this iteration (bounded by the router)
    tests_written_at: int  # the iteration the current tests were written in
    # this iteration's versions, one per write_code branch; the samples the safety gate blocked
    candidates: Annotated[list[Version], this_iteration]
    blocked_samples: list[int]
    best: dict[str, Any]  # {"iteration", "passed", "failed", "files"}: the best attempt seen
    # the first iteration's choice when a strong group of its versions agreed on it: {"files", "votes"}
    agreed: dict[str, Any]
    # every distinct version written, chosen or not: a stopped run picks its answer among them
    versions: Annotated[list[Version], keep_versions]
    # "ecosystem:package" -> approved | denied (by a human or policy) | uninstallable (approved, install failed)
    approvals: dict[str, str]
    installed_dependencies: list[str]  # "python:toolz", in the task's dependency folder the tests mount
    last_failed_files: dict[str, str]  # the code of the latest failing iteration, to diff a fix against
    tokens: Annotated[dict[str, int], merge_counts]
    cost_usd: Annotated[
        dict[str, float], merge_counts
    ]  # per phase; NaN when a hosted model's price is unknown
    status: RunStatus
    stop_reason: str


class VersionRequest(AgentState, total=False):
    """What one `write_code` branch is sent: the state, and which version it writes."""

    sample: int  # 1-based, within the iteration
    reading: str  # "planned", "goal", "plain" or "reasoned"
    hot: bool  # written at the hotter `sample_temperature`
    fresh: bool  # from the goal and plan alone, without the failed code and its diagnosis


class OutputState(TypedDict, total=False):
    """What a caller gets back."""

    task_id: str
    status: RunStatus
    stop_reason: str
    iteration: int
    workspace: str
    files: dict[str, str]
    tests: dict[str, str]
    report: dict[str, Any]
    tokens: dict[str, int]
