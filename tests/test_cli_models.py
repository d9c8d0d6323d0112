"""`agent-graph models`: what is in the models folder and which model each role will use."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import cli


def test_models_lists_files_best_first_and_each_roles_choice(tmp_path: Path) -> None:
    for name in (
        "other.gguf",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ):
        (tmp_path / name).write_bytes(b"\0" * 1000)
    env = {"AGENT_GRAPH_MODELS": str(tmp_path), "OPENAI_API_KEY": "", "AGENT_GRAPH_MODEL": ""}
    result = cli("models", "--json", env={**env, "AGENT_GRAPH_CODER_MODEL": "ollama:qwen2.5-coder"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [Path(m["path"]).name for m in report["local"]] == [
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "other.gguf",
    ]
    best = f"llamacpp:{tmp_path / 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'}"
    assert report["default"] == best
    assert report["roles"]["coder"] == {"spec": "ollama:qwen2.5-coder", "from": "coder_model"}
    assert report["roles"]["planner"] == {"spec": best, "from": "default"}


def test_models_without_any_model_says_what_to_do(tmp_path: Path) -> None:
    env = {"AGENT_GRAPH_MODELS": str(tmp_path), "OPENAI_API_KEY": "", "AGENT_GRAPH_MODEL": ""}
    result = cli("models", env=env)
    assert result.returncode == 0, result.stderr
    assert "no .gguf files there" in result.stdout and "scripts/fetch-model.sh" in result.stdout
