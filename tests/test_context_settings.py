"""`Context` defaults for LangGraph's server: the settings file and the environment, as in the CLI."""

from __future__ import annotations

import os
import pickle
from dataclasses import fields
from pathlib import Path

import pytest

from agent_graph.context import Context, context_with_settings_defaults
from agent_graph.errors import UserInputError
from agent_graph.models import get_chat_model, release_models

StudioLike = context_with_settings_defaults(
    "StudioLike", __name__, environ={"AGENT_GRAPH_MAX_ITERATIONS": "9"}
)


def test_defaults_come_from_the_settings_file_then_the_environment(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("loop:\n  max_iterations: 7\n  warn_iterations: 3\nsandbox:\n  timeout_seconds: 30\n")
    schema = context_with_settings_defaults(
        "Probe", __name__, settings, environ={"AGENT_GRAPH_WARN_ITERATIONS": "2"}
    )
    context = schema()
    assert isinstance(context, Context)
    assert (context.max_iterations, context.warn_iterations) == (7, 2)  # the environment wins
    assert context.sandbox_timeout_seconds == 30.0
    # What a run sets still wins over the defaults, and nothing else changes.
    assert schema(max_iterations=4).max_iterations == 4
    assert [f.name for f in fields(schema)] == [f.name for f in fields(Context)]


def test_the_class_pickles_by_reference_like_any_other() -> None:
    context = StudioLike(model="scripted:/x.json")
    assert context.max_iterations == 9
    assert pickle.loads(pickle.dumps(context)) == context


def test_a_bad_settings_file_is_the_clis_one_sentence_error(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("loop:\n  max_iterations: many\n")
    with pytest.raises(UserInputError, match="max_iterations"):
        context_with_settings_defaults("Probe", __name__, settings)


def test_local_model_threads_come_from_the_environment_and_must_not_be_negative() -> None:
    schema = context_with_settings_defaults("Probe", __name__, environ={"AGENT_GRAPH_THREADS": "1"})
    assert schema().threads == 1
    assert Context().threads == 0  # every core
    with pytest.raises(UserInputError, match="threads must be 0"):
        Context(threads=-1).validated()


@pytest.mark.e2e
def test_a_local_model_runs_on_the_configured_number_of_threads() -> None:
    model_file = os.environ.get("AGENT_GRAPH_E2E_MODEL", "")
    if not model_file or not Path(model_file).is_file():
        pytest.fail("AGENT_GRAPH_E2E_MODEL must name a GGUF file (scripts/test.sh sets it).")
    spec = f"llamacpp:{model_file}"
    one = get_chat_model(spec, Context(threads=1, max_output_tokens=8))
    every = get_chat_model(spec, Context(max_output_tokens=8))
    try:
        assert one.client.n_threads == 1  # type: ignore[attr-defined]
        assert every.client.n_threads == os.cpu_count()  # type: ignore[attr-defined]
    finally:
        release_models()


@pytest.mark.e2e
def test_seed_minus_one_samples_differently_in_each_process_and_a_set_seed_repeats() -> None:
    model_file = os.environ.get("AGENT_GRAPH_E2E_MODEL", "")
    if not model_file or not Path(model_file).is_file():
        pytest.fail("AGENT_GRAPH_E2E_MODEL must name a GGUF file (scripts/test.sh sets it).")
    spec = f"llamacpp:{model_file}"
    seeds = []
    for seed in (-1, -1, 7, 7):
        try:  # released each time: a new process builds its model afresh
            seeds.append(get_chat_model(spec, Context(seed=seed, max_output_tokens=8)).client._seed)  # type: ignore[attr-defined]
        finally:
            release_models()
    random_one, random_two, fixed_one, fixed_two = seeds
    assert random_one != random_two  # llama-cpp-python's own -1 would give -1 twice: the same samples
    assert random_one >= 0 and random_two >= 0
    assert fixed_one == fixed_two == 7
