"""`Context` defaults for LangGraph's server: the settings file and the environment, as in the CLI."""

from __future__ import annotations

import pickle
from dataclasses import fields
from pathlib import Path

import pytest

from agent_graph.context import Context, context_with_settings_defaults
from agent_graph.errors import UserInputError

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
