"""The loop end to end with a scripted model, the real database, checkpointer and sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.context import Context
from agent_graph.memory import history
from agent_graph.nodes.reflector import stuck
from agent_graph.prompts import SIMPLE_TESTS_REQUEST
from agent_graph.runner import run_task
from agent_graph.workflow import builder
from tests import scripts

# Scripts below answer one call at a time in order, so runs that fail more than once write one
# version per iteration (samples_per_iteration=1); sampling has its own tests.


def final_values(database_url: str, task_id: str) -> dict[str, Any]:
    """The state of a run's last checkpoint."""
    with open_checkpointer(database_url) as saver:
        return builder.compile(checkpointer=saver).get_state({"configurable": {"thread_id": task_id}}).values


def test_fails_once_reflects_then_passes(database_url: str, agent_home: Path) -> None:
    spec, model = scripts.scripted("fail-then-pass", scripts.fail_then_pass())
    outcome = run_task(
        "Write mean(xs) for a list of numbers; raise ValueError on an empty list.",
        "python",
        "library",
        Context(first_samples=1, model=spec, samples_per_iteration=1),
    )

    assert outcome.status == "passed"
    assert outcome.iterations == 2
    assert outcome.tests == {"passed": 3, "failed": 0}
    assert outcome.tokens > 0
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.FIXED_CODE
    # The reflector saw the failing assertion, and the coder saw the reflector's fix plan.
    (reflect_prompt,) = model.prompts_for("Reflection")
    assert "test_mean_of_three" in reflect_prompt
    coder_prompts = model.prompts_for("write_file")
    assert "Divide by len(xs)" in coder_prompts[-1]

    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome.task_id)
        task = history.get_task(conn, outcome.task_id)
    assert [(r["iteration"], r["status"]) for r in rows] == [(1, "failed"), (2, "passed")]
    assert rows[0]["tests_failed"] >= 1 and rows[1]["tests_passed"] == 3
    assert rows[0]["hypothesis"] == scripts.REFLECTION["hypothesis"]
    assert task is not None and task["status"] == "passed" and task["iterations"] == 2

    # The checkpoint history holds every super-step, in order, including the reflection.
    with open_checkpointer(database_url) as saver:
        graph = builder.compile(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": outcome.task_id}}
        steps = [(s.metadata or {})["step"] for s in graph.get_state_history(config)]
        next_nodes = [s.next for s in graph.get_state_history(config)][::-1]
        final = graph.get_state(config)
    assert steps == sorted(steps, reverse=True)
    assert final.values["status"] == "passed" and not final.next
    assert [a["iteration"] for a in final.values["attempts"]] == [1, 2]
    assert len(final.values["reflections"]) == 1
    # oldest first: the path the run took, one checkpoint per super-step, each step a node
    assert next_nodes == [
        ("__start__",),
        ("plan",),
        ("write_code",),
        ("safety",),
        ("write_tests",),
        ("select",),
        ("run_tests",),
        ("reflect",),
        ("write_code",),
        ("safety",),
        ("select",),
        ("run_tests",),
        ("finish",),
        (),
    ]


def test_circuit_breaker_stops_at_the_hard_limit(database_url: str, agent_home: Path) -> None:
    spec, model = scripts.scripted("never-fixed", scripts.never_fixed())
    context = Context(
        first_samples=1, model=spec, max_iterations=3, warn_iterations=2, samples_per_iteration=1
    )
    outcome = run_task(
        "Write mean(xs) for a list of numbers; raise ValueError on an empty list.",
        "python",
        "library",
        context,
    )

    assert outcome.status == "stopped"
    assert outcome.iterations == 3
    assert "circuit breaker" in outcome.stop_reason
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome.task_id)
    assert [r["iteration"] for r in rows] == [1, 2, 3]
    assert all(r["status"] == "failed" for r in rows)
    # From the warning threshold on, the reflector is told to change approach.
    reflections = model.prompts_for("Reflection")
    assert len(reflections) == 2
    assert "WARNING" not in reflections[0] and "WARNING" in reflections[1]
    # The same failure twice: the tests were doubted and written afresh for iteration 3.
    assert "The previous tests were judged wrong" in model.prompts_for("write_file")[-1]
    # The best attempt (all equal here: the first) is what stays in the workspace.
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.BUGGY_CODE
    # The router stopped it: the last test run went straight to finish, with no reflection.
    with open_checkpointer(database_url) as saver:
        graph = builder.compile(checkpointer=saver)
        path = [s.next for s in graph.get_state_history({"configurable": {"thread_id": outcome.task_id}})][
            ::-1
        ]
    assert path[-3:] == [("run_tests",), ("finish",), ()]


def test_best_attempt_is_kept_when_stopped(database_url: str, agent_home: Path) -> None:
    partly_fixed = "def mean(xs):\n    return sum(xs) / len(xs)\n"  # passes 2 of 3: no ValueError on []
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [
            scripts.write("stats.py", partly_fixed),
            scripts.write("test_stats.py", scripts.TESTS),
            scripts.write("stats.py", scripts.BUGGY_CODE),
        ],
        "Reflection": [{"args": scripts.REFLECTION}],
    }
    spec, _ = scripts.scripted("best-attempt", script)
    outcome = run_task(
        "Write mean(xs); raise ValueError on an empty list.",
        "python",
        "library",
        Context(first_samples=1, model=spec, max_iterations=2, samples_per_iteration=1),
    )
    assert outcome.status == "stopped"
    assert Path(outcome.workspace, "stats.py").read_text() == partly_fixed


@pytest.mark.parametrize("bad", ["../escape.py", "/etc/passwd", "link/out.py"])
def test_file_tools_refuse_paths_outside_the_workspace(tmp_path: Path, bad: str) -> None:
    from agent_graph.tools import run_file_tool
    from agent_graph.workspace import Workspace

    root = tmp_path / "ws"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    result = run_file_tool(Workspace(root), "write_file", {"path": bad, "content": "x"})
    assert result.startswith("error:")
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "out.py").exists()


def test_a_generated_test_contradicting_the_goal_examples_is_set_aside(
    database_url: str, agent_home: Path
) -> None:
    plan = {**scripts.PLAN, "public_api": ["mean(xs: list[float]) -> float"]}
    wrong_tests = (
        "from stats import mean\n\n"
        "def test_mean():\n    assert mean([1, 2, 3]) == 2\n    assert mean([2, 2]) == 3\n"  # the second is wrong
    )
    first = "def mean(xs):\n    return sum(xs) / len(xs)\n"
    second = (
        "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n"
    )
    script = {
        "Plan": [{"args": plan}],
        "write_file": [
            scripts.write("stats.py", first),
            scripts.write("test_stats.py", wrong_tests),
            scripts.write("stats.py", second),
            scripts.write("stats.py", second),
        ],
        "Reflection": [{"args": scripts.REFLECTION}, {"args": scripts.REFLECTION_AGAIN}],
    }
    spec, _ = scripts.scripted("quarantine", script)
    goal = "Write mean(xs), the arithmetic mean. Example: mean([4, 6]) == 5."
    outcome = run_task(
        goal,
        "python",
        "library",
        Context(first_samples=1, model=spec, max_iterations=4, samples_per_iteration=1),
    )

    assert outcome.status == "passed" and outcome.iterations == 3
    values = final_values(database_url, outcome.task_id)
    assert values["reflections"][-1]["quarantined"] == ["test_stats::test_mean_2"]
    assert (
        "test_mean_1" in values["tests"]["test_stats.py"]
        and "test_mean_2" not in values["tests"]["test_stats.py"]
    )
    assert "mean([4, 6]) == 5" in values["tests"]["test_goal_examples.py"]


def test_without_goal_examples_two_agreeing_versions_set_a_test_aside(
    database_url: str, agent_home: Path
) -> None:
    tests = "from stats import mean\n\ndef test_mean():\n    assert mean([1, 2, 3]) == 2\n    assert mean([2, 2]) == 3\n"
    first = "def mean(xs):\n    return sum(xs) / len(xs)\n"
    second = "def mean(xs):\n    return sum(x for x in xs) / len(xs)\n"
    crash = "def mean(xs):\n    raise RuntimeError('no')\n"
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [
            scripts.write("stats.py", crash),
            scripts.write("test_stats.py", tests),
            scripts.write("stats.py", first),
            scripts.write("stats.py", second),
            scripts.write("stats.py", second),
        ],
        "Reflection": [
            {"args": scripts.REFLECTION},
            {"args": scripts.REFLECTION_AGAIN},
            {"args": {"hypothesis": "mean([2, 2]) is 2, not 3.", "fix_plan": ["Keep the code"]}},
        ],
    }
    spec, _ = scripts.scripted("agreement", script)
    outcome = run_task(
        "Write mean(xs), the arithmetic mean.",
        "python",
        "library",
        Context(first_samples=1, model=spec, max_iterations=5, samples_per_iteration=1),
    )
    # iteration 1 crashes (proves nothing), 2 and 3 agree on mean([2, 2]) == 2.0: that test is set aside
    assert outcome.status == "passed" and outcome.iterations == 4
    values = final_values(database_url, outcome.task_id)
    assert [r["quarantined"] for r in values["reflections"]] == [[], [], ["test_stats::test_mean_2"]]


def test_token_budget_stops_the_run(database_url: str, agent_home: Path) -> None:
    spec, _ = scripts.scripted("budget", scripts.never_fixed())
    outcome = run_task(
        "Write mean(xs); raise ValueError on an empty list.",
        "python",
        "library",
        Context(first_samples=1, model=spec, max_tokens=50),
    )
    assert outcome.status == "stopped"
    assert outcome.iterations == 1
    assert "token budget of 50" in outcome.stop_reason
    assert outcome.tokens >= 50


def test_small_model_slips_in_code_and_tests_cost_no_iteration(database_url: str, agent_home: Path) -> None:
    """The coder puts (wrong) tests into the source; the tester's first file has no test in it."""
    source_with_tests = (
        scripts.FIXED_CODE + "\n\ndef test_mean():\n    assert mean([1]) == 5\n\nassert mean([2]) == 7\n"
    )
    imports_only = "import pytest\nfrom stats import mean\n"
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [
            scripts.write("stats.py", source_with_tests),
            scripts.write("test_stats.py", imports_only),
            scripts.write("test_stats.py", scripts.TESTS),
        ],
    }
    spec, model = scripts.scripted("slips", script)
    outcome = run_task(
        "Write mean(xs) for a list of numbers; raise ValueError on an empty list.",
        "python",
        "library",
        Context(first_samples=1, model=spec, samples_per_iteration=1),
    )
    assert outcome.status == "passed" and outcome.iterations == 1
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.FIXED_CODE
    assert outcome.tests == {"passed": 3, "failed": 0}
    assert "had no test functions" in model.prompts_for("write_file")[-1]


def test_after_two_unusable_test_files_the_tester_starts_afresh_asking_for_simple_tests(
    database_url: str, agent_home: Path
) -> None:
    """Two files with no test left in them (the second one after being told so): the third request
    is a new conversation asking for short literal tests, and the run goes on with its file."""
    imports_only = "import pytest\nfrom stats import mean\n"
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [
            scripts.write("stats.py", scripts.FIXED_CODE),
            scripts.write("test_stats.py", imports_only),
            scripts.write("test_stats.py", imports_only),
            scripts.write("test_stats.py", scripts.TESTS),
        ],
    }
    spec, model = scripts.scripted("tester-third-try", script)
    events = EventRecorder()
    outcome = run_task(
        "Write mean(xs) for a list of numbers; raise ValueError on an empty list.",
        "python",
        "library",
        Context(first_samples=1, model=spec, samples_per_iteration=1),
        observer=events,
    )
    assert outcome.status == "passed" and outcome.iterations == 1
    assert outcome.tests == {"passed": 3, "failed": 0}
    second, third = [call["messages"] for call in model.calls if call["tool"] == "write_file"][2:]
    assert "had no test functions" in str(second[-1]) and SIMPLE_TESTS_REQUEST not in str(second)
    assert len(third) == 2 and SIMPLE_TESTS_REQUEST in str(third[-1])
    asked = [e for e in events.events if e["event"] == "tests_asked_simply"]
    assert [(e["path"], e["attempt"]) for e in asked] == [("test_stats.py", 3)]


def test_a_test_run_where_no_test_ran_makes_the_tests_suspect() -> None:
    nothing_ran: dict[str, Any] = {"report": {"status": "error", "passed": 0, "failed": 0, "errors": 0}}
    assert stuck(nothing_ran)  # type: ignore[arg-type]
    import_error = {"report": {"status": "error", "passed": 0, "failed": 0, "errors": 1}}
    assert not stuck(import_error)  # type: ignore[arg-type]
    blocked = {**nothing_ran, "safety_feedback": "eval is blocked"}
    assert not stuck(blocked)  # type: ignore[arg-type]


def test_an_iterations_duration_includes_its_coding(database_url: str, agent_home: Path) -> None:
    script = scripts.fail_then_pass()
    script["write_file"][2]["delay"] = 5  # the coder of iteration 2 "thinks" for five seconds
    spec, _ = scripts.scripted("slow-coder", script)
    outcome = run_task(
        "Write mean(xs); raise ValueError on an empty list.",
        "python",
        "library",
        Context(first_samples=1, model=spec, samples_per_iteration=1),
    )
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome.task_id)
    assert rows[1]["duration_seconds"] >= 5.0  # more than a warm sandbox run takes on its own


def test_after_a_failure_fresh_versions_are_chosen_by_the_tests(database_url: str, agent_home: Path) -> None:
    """Iteration 2 writes three versions in parallel branches: one blocked by the safety gate
    (never run), one still wrong, one right; the right one is kept. Which branch takes which
    scripted answer is up to the scheduler, so the checks do not depend on the order."""
    blocked = "def mean(xs):\n    return eval('sum(xs)') / len(xs)\n"
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [
            scripts.write("stats.py", scripts.BUGGY_CODE),
            scripts.write("test_stats.py", scripts.TESTS),
            scripts.write("stats.py", blocked),
            scripts.write("stats.py", scripts.BUGGY_CODE),
            scripts.write("stats.py", scripts.FIXED_CODE),
        ],
        "Reflection": [{"args": scripts.REFLECTION}],
    }
    spec, model = scripts.scripted("samples", script)
    events = EventRecorder()
    context = Context(first_samples=1, model=spec, samples_per_iteration=3)
    outcome = run_task(
        "Write mean(xs); raise ValueError on an empty list.", "python", "library", context, observer=events
    )
    assert outcome.status == "passed" and outcome.iterations == 2
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.FIXED_CODE
    prompts = model.prompts_for("write_file")
    assert len(prompts) == 5  # code, tests, then three versions
    # Two versions build on the failed code and its diagnosis; one starts afresh from the goal.
    later = prompts[2:]
    with_history = ["Current source files" in p and "Diagnosis:" in p for p in later]
    assert sorted(with_history) == [False, True, True]
    fresh = later[with_history.index(False)]
    assert "Goal:" in fresh and "stats.py" in fresh
    (sampled,) = [e for e in events.events if e["event"] == "samples"]
    # tests passed per version the safety gate let through (the blocked one never ran)
    assert sorted(sampled["passed"]) == [0, 3]


class EventRecorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def on_update(self, node: str, update: dict[str, Any]) -> None:
        pass

    def on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def test_the_versions_of_an_iteration_are_parallel_send_branches(database_url: str, agent_home: Path) -> None:
    """Iteration 2 writes three versions, each in its own `write_code` branch of one super-step;
    the tests choose the passing one."""
    script = scripts.fail_then_pass()
    fixed = script["write_file"][-1]
    script["write_file"] += [fixed, fixed]
    spec, model = scripts.scripted("samples-parallel", script)
    outcome = run_task(
        "Write mean(xs); raise ValueError on an empty list.",
        "python",
        "library",
        Context(first_samples=1, model=spec, samples_per_iteration=3),
    )
    assert outcome.status == "passed" and outcome.iterations == 2
    assert len(model.prompts_for("write_file")) == 5  # code, tests, three versions
    with open_checkpointer(database_url) as saver:
        graph = builder.compile(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": outcome.task_id}}
        branches = [len(s.tasks) for s in graph.get_state_history(config) if set(s.next) == {"write_code"}]
    assert branches == [3, 1]  # newest first: iteration 2's three branches, iteration 1's one


def test_an_unusable_test_file_is_asked_for_again_hotter(database_url: str, agent_home: Path) -> None:
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [
            scripts.write("stats.py", scripts.FIXED_CODE),
            {"content": "Here are the tests you asked for."},  # no tool call: unusable
            scripts.write("test_stats.py", scripts.TESTS),
        ],
    }
    spec, model = scripts.scripted("tester-retry", script)
    outcome = run_task(
        "Write mean(xs); raise ValueError on an empty list.",
        "python",
        "library",
        Context(first_samples=1, model=spec, sample_temperature=0.9),
    )
    assert outcome.status == "passed" and outcome.iterations == 1
    tester_calls = [call for call in model.calls if call["tool"] == "write_file"][1:]
    assert [call["temperature"] for call in tester_calls] == [None, 0.9]


def test_the_tester_sees_the_plans_api_and_edge_cases_but_not_its_steps(
    database_url: str, agent_home: Path
) -> None:
    """Tests written from the plan's steps would favour the version written from them, right or not."""
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [
            scripts.write("stats.py", scripts.FIXED_CODE),
            scripts.write("test_stats.py", scripts.TESTS),
        ],
    }
    spec, model = scripts.scripted("tester-request", script)
    outcome = run_task("Write mean(xs).", "python", "library", Context(first_samples=1, model=spec))
    assert outcome.status == "passed"
    coder_request, tester_request = (
        str(call["messages"][-1]) for call in model.calls if call["tool"] == "write_file"
    )
    assert "step 2: Raise ValueError on an empty list" in coder_request
    assert "step" not in tester_request and scripts.PLAN["summary"] not in tester_request
    assert "API: mean(xs: list[float]) -> float" in tester_request
    assert "edge case: empty list raises ValueError" in tester_request


def test_the_coder_and_tester_see_a_declared_function_as_the_goal_declares_it(
    database_url: str, agent_home: Path
) -> None:
    """The plan's copy of a declared signature can be wrong; the goal's own declaration is what counts."""
    goal = (
        "Implement `mean` in `stats.py`, keeping exactly this signature:\n\n"
        'def mean(xs: list[float]) -> float:\n    """The mean of xs; raise ValueError on an empty list."""\n'
    )
    misstated = "mean(xs: list[float], n: int) -> float"
    script = {
        "Plan": [{"args": {**scripts.PLAN, "public_api": [misstated]}}],
        "write_file": [
            scripts.write("stats.py", scripts.FIXED_CODE),
            scripts.write("test_stats.py", scripts.TESTS),
        ],
    }
    spec, model = scripts.scripted("declared-api", script)
    outcome = run_task(goal, "python", "library", Context(first_samples=1, model=spec))
    assert outcome.status == "passed"
    requests = [str(call["messages"][-1]) for call in model.calls if call["tool"] == "write_file"]
    assert len(requests) == 2
    for request in requests:
        assert "API: mean(xs: list[float]) -> float" in request and misstated not in request


def test_a_tester_that_never_calls_the_tool_ends_the_run_saying_why(
    database_url: str, agent_home: Path
) -> None:
    unusable = {"content": "Here are the tests you asked for."}  # no tool call
    script = {
        "Plan": [{"args": scripts.PLAN}],
        # Each of the three tries is asked once more, hotter, before it counts as unusable; the
        # router asks the tester twice more, saying why.
        "write_file": [scripts.write("stats.py", scripts.FIXED_CODE), *[unusable] * 18],
    }
    spec, model = scripts.scripted("tester-unusable", script)
    outcome = run_task("Write mean(xs).", "python", "library", Context(first_samples=1, model=spec))
    assert outcome.status == "failed"
    assert "no usable tests for test_stats.py" in outcome.stop_reason
    asked_again = [str(c["messages"][-1]) for c in model.calls if c["tool"] == "write_file"][7:]
    assert asked_again and "None of your last answers was a usable `test_stats.py`" in asked_again[0]
    assert "no write_file tool call in the answer" in outcome.stop_reason
    # The six unusable answers were generated all the same: they count, as the test phase's.
    tokens = final_values(database_url, outcome.task_id)["tokens"]
    assert tokens["test"] > tokens["plan"] > 0
    assert outcome.tokens == sum(tokens.values())


def test_a_run_ended_by_an_unusable_coder_answer_counts_its_tokens(
    database_url: str, agent_home: Path
) -> None:
    unusable = {"content": "Sure, here is the code."}  # no tool call, asked twice
    script = {"Plan": [{"args": scripts.PLAN}], "write_file": [unusable, unusable]}
    spec, _ = scripts.scripted("coder-unusable", script)
    outcome = run_task("Write mean(xs).", "python", "library", Context(first_samples=1, model=spec))
    assert outcome.status == "failed" and "no usable write_file" in outcome.stop_reason
    tokens = final_values(database_url, outcome.task_id)["tokens"]
    planned = tokens["plan"]
    assert "code" not in tokens  # the coder never returned: no checkpoint has them
    assert outcome.tokens > planned  # the outcome adds the coder's two unusable answers
    with connection(database_url) as conn:
        row = conn.execute("SELECT tokens FROM tasks WHERE task_id = %s", (outcome.task_id,)).fetchone()
    assert row is not None and row["tokens"] == outcome.tokens


def test_a_hypothesis_copied_from_those_already_tried_is_asked_for_again_hotter(
    database_url: str, agent_home: Path
) -> None:
    fresh = {"hypothesis": "The divisor is off by one.", "fix_plan": ["Divide by len(xs)"]}
    code, tests = scripts.write("stats.py", scripts.BUGGY_CODE), scripts.write("test_stats.py", scripts.TESTS)
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [code, tests, code, scripts.write("stats.py", scripts.FIXED_CODE), tests],
        "Reflection": [{"args": scripts.REFLECTION}, {"args": scripts.REFLECTION}, {"args": fresh}],
    }
    spec, model = scripts.scripted("repeated-hypothesis", script)
    context = Context(first_samples=1, model=spec, samples_per_iteration=1, sample_temperature=0.9)
    outcome = run_task("Write mean(xs); raise ValueError on an empty list.", "python", "library", context)

    assert outcome.status == "passed" and outcome.iterations == 3
    reflections = [call for call in model.calls if call["tool"] == "Reflection"]
    assert len(reflections) == 3
    assert reflections[2]["temperature"] == 0.9
    assert "repeats one already tried" in reflections[2]["messages"][-1]
    last_code_prompt = model.prompts_for("write_file")[3]
    assert "Diagnosis: The divisor is off by one." in last_code_prompt


def test_a_hypothesis_the_code_refutes_is_asked_for_again_hotter(database_url: str, agent_home: Path) -> None:
    """The reflector blames a name the code imports and the failures never mention: it is told
    where the code binds it and asked once more; the new diagnosis reaches the coder."""
    blamed = {
        "hypothesis": "The `math.fsum` function is not defined: math is not imported.",
        "fix_plan": ["Import math"],
    }
    fresh = {"hypothesis": "The divisor is off by one.", "fix_plan": ["Divide by len(xs)"]}
    buggy = "import math\n\n\n" + scripts.BUGGY_CODE.replace("sum(xs)", "math.fsum(xs)")
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [
            scripts.write("stats.py", buggy),
            scripts.write("test_stats.py", scripts.TESTS),
            scripts.write("stats.py", scripts.FIXED_CODE),
        ],
        "Reflection": [{"args": blamed}, {"args": fresh}],
    }
    spec, model = scripts.scripted("refuted-hypothesis", script)
    context = Context(first_samples=1, model=spec, samples_per_iteration=1, sample_temperature=0.9)
    outcome = run_task("Write mean(xs); raise ValueError on an empty list.", "python", "library", context)

    assert outcome.status == "passed" and outcome.iterations == 2
    reflections = [call for call in model.calls if call["tool"] == "Reflection"]
    assert len(reflections) == 2 and reflections[1]["temperature"] == 0.9
    assert "`math` is bound at the top level of stats.py" in reflections[1]["messages"][-1]
    assert "Diagnosis: The divisor is off by one." in model.prompts_for("write_file")[2]


def test_a_declared_name_the_code_never_writes_is_diagnosed_without_asking_the_model(
    database_url: str, agent_home: Path
) -> None:
    """The tests import `median`, which the plan declares and the code never writes: the failure
    says so plainly, so the reflector states it (no Reflection call is scripted) and the coder is
    told to define it."""
    plan = {
        **scripts.PLAN,
        "public_api": ["mean(xs: list[float]) -> float", "median(xs: list[float]) -> float"],
    }
    median = (
        "\n\ndef median(xs):\n    s = sorted(xs)\n    return (s[(len(s) - 1) // 2] + s[len(s) // 2]) / 2\n"
    )
    tests = scripts.TESTS.replace("from stats import mean", "from stats import mean, median") + (
        "\n\ndef test_median():\n    assert median([3, 1, 2]) == 2\n"
    )
    script = {
        "Plan": [{"args": plan}],
        "write_file": [
            scripts.write("stats.py", scripts.FIXED_CODE),
            scripts.write("test_stats.py", tests),
            scripts.write("stats.py", scripts.FIXED_CODE + median),
        ],
    }
    spec, model = scripts.scripted("missing-name", script)
    context = Context(first_samples=1, model=spec, samples_per_iteration=1)
    outcome = run_task("Write mean(xs) and median(xs) in stats.py.", "python", "library", context)

    assert outcome.status == "passed" and outcome.iterations == 2, outcome
    assert not [call for call in model.calls if call["tool"] == "Reflection"]
    assert "stats.py never defines `median`" in model.prompts_for("write_file")[2]


def test_the_coder_reads_one_file_and_edits_another_with_its_tools(
    database_url: str, agent_home: Path
) -> None:
    """A fix made through file tools: the coder lists the files, reads the helper module, edits the
    main one, and says done; the edit is what the next test run sees."""
    plan = {
        **scripts.PLAN,
        "files": [
            {"path": "stats.py", "purpose": "The mean function."},
            {"path": "helpers.py", "purpose": "A total helper."},
        ],
    }
    helper = "def total(xs):\n    return sum(xs)\n"
    buggy = "from helpers import total\n\ndef mean(xs):\n    return total(xs) / (len(xs) + 1)\n"
    script = {
        "Plan": [{"args": plan}],
        "write_file": [
            scripts.write("stats.py", buggy),
            scripts.write("helpers.py", helper),
            scripts.write("test_stats.py", scripts.TESTS),
        ],
        "Reflection": [{"args": scripts.REFLECTION}],
        "file_action": [
            {"args": {"action": "list"}},
            {"args": {"action": "read", "path": "helpers.py"}},
            {"args": {"action": "edit", "path": "stats.py", "old": "(len(xs) + 1)", "new": "len(xs)"}},
            {
                "args": {
                    "action": "edit",
                    "path": "stats.py",
                    "old": "def mean(xs):\n",
                    "new": "def mean(xs):\n    if not xs:\n        raise ValueError('empty')\n",
                }
            },
            {"args": {"action": "done"}},
        ],
    }
    spec, model = scripts.scripted("tools", script)
    context = Context(first_samples=1, samples_per_iteration=1, coder_tool_calls=6, model=spec)
    outcome = run_task("Write mean(xs); raise ValueError on an empty list.", "python", "library", context)
    assert outcome.status == "passed" and outcome.iterations == 2
    assert Path(outcome.workspace, "helpers.py").read_text() == helper  # read, never written
    assert "raise ValueError" in Path(outcome.workspace, "stats.py").read_text()
    results = model.prompts_for("file_action")
    assert "helpers.py" in results[1] and "stats.py" in results[1]  # the listing came back
    assert "return sum(xs)" in results[2]  # then the helper's content
