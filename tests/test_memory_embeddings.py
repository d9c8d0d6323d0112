"""Embedders: picking one by its own setting (never by the chat model's key), where OpenAI
embeddings are sent, the real local model's output, and the vector checks."""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agent_graph.context import load_context
from agent_graph.errors import UserInputError
from agent_graph.memory.agent_memory import AgentMemory
from agent_graph.memory.embeddings import (
    API_KEY_ENV,
    EmbeddingDimensionError,
    EmbeddingError,
    LangChainEmbeddings,
    LocalEmbedder,
    OpenAIEmbedder,
    check_vectors,
    get_embedder,
)
from tests.memory_support import embedder, memory_url

__all__ = ["embedder", "memory_url"]  # fixtures, imported for pytest


def test_the_embedder_follows_its_own_setting_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # A key for the chat model (a local OpenAI-compatible server, or OpenAI itself) changes nothing.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-chat")
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    assert isinstance(get_embedder(), LocalEmbedder)
    assert isinstance(get_embedder(""), LocalEmbedder)
    assert isinstance(get_embedder("local"), LocalEmbedder)
    assert load_context(environ={"OPENAI_API_KEY": "sk-chat"}).embedder == "local"
    # Asking for OpenAI embeddings needs the embedder's own key: the chat key is never borrowed.
    with pytest.raises(UserInputError, match=f"needs its own key in {API_KEY_ENV}"):
        get_embedder("openai")
    monkeypatch.setenv(API_KEY_ENV, "sk-embed")
    large = get_embedder("openai")
    assert isinstance(large, OpenAIEmbedder)
    assert (large.name, large.dim) == ("openai/text-embedding-3-large", 1536)
    small = get_embedder("openai:text-embedding-3-small@512")
    assert (small.name, small.dim) == ("openai/text-embedding-3-small", 512)


class Recorder(ThreadingHTTPServer):
    """A loopback HTTP server that records each request and answers like OpenAI's embeddings API."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
        dim = int(body.get("dimensions", 8))
        data = [
            {"object": "embedding", "index": i, "embedding": [1.0 / math.sqrt(dim)] * dim}
            for i, _ in enumerate(body.get("input", []))
        ]
        answer = json.dumps(
            {"object": "list", "data": data, "model": body.get("model"), "usage": {}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:  # quiet
        pass


@pytest.fixture
def servers() -> Iterator[tuple[Recorder, Recorder]]:
    """A chat server's address and an embeddings server's, both on the loopback interface."""
    chat, embeddings = Recorder(), Recorder()
    yield chat, embeddings
    for server in (chat, embeddings):
        server.shutdown()
        server.server_close()


def test_openai_embeddings_go_to_the_embedders_endpoint_with_its_key(
    monkeypatch: pytest.MonkeyPatch, servers: tuple[Recorder, Recorder]
) -> None:
    chat, embeddings = servers
    # Everything the chat model is configured with, as a user of a local OpenAI-compatible server sets it.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-chat")
    monkeypatch.setenv("OPENAI_BASE_URL", chat.url)
    monkeypatch.setenv("AGENT_GRAPH_BASE_URL", chat.url)
    monkeypatch.setenv(API_KEY_ENV, "sk-embed")
    context = load_context(
        environ={**os.environ, "AGENT_GRAPH_EMBEDDER": "openai:text-embedding-3-large@256",
                 "AGENT_GRAPH_EMBEDDER_BASE_URL": embeddings.url}
    )  # fmt: skip
    embedder = get_embedder(context.embedder, base_url=context.embedder_base_url)
    vectors = LangChainEmbeddings(embedder).embed_documents(["ZeroDivisionError: division by zero", ""])
    assert [len(v) for v in vectors] == [256, 256]
    (request,) = embeddings.requests
    assert request["path"] == "/v1/embeddings" and request["auth"] == "Bearer sk-embed"
    assert request["body"]["model"] == "text-embedding-3-large" and request["body"]["dimensions"] == 256
    assert request["body"]["input"] == ["ZeroDivisionError: division by zero", " "]
    assert chat.requests == []  # the chat server saw no memory


def test_a_chat_key_and_server_never_receive_the_memory(
    monkeypatch: pytest.MonkeyPatch, servers: tuple[Recorder, Recorder], memory_url: str
) -> None:
    """With OPENAI_API_KEY set for a local chat server, the memory still embeds locally."""
    chat, _ = servers
    monkeypatch.setenv("OPENAI_API_KEY", "sk-chat")
    monkeypatch.setenv("OPENAI_BASE_URL", chat.url)
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    context = load_context(
        overrides={"base_url": chat.url, "model": "openai:local-model"}, environ=dict(os.environ)
    )
    memory = AgentMemory.from_context(context)
    try:
        assert memory.enabled and isinstance(memory.embedder, LocalEmbedder)
        state: Any = {
            "task_id": "t-chat",
            "iteration": 1,
            "language": "python",
            "task": "Write mean(xs).",
            "files": {"stats.py": "def mean(xs):\n    return sum(xs) / len(xs)\n"},
            "report": {"status": "failed", "failures": [{"test": "test_stats.py::test_empty",
                       "message": "ZeroDivisionError: division by zero", "traceback": ""}]},
        }  # fmt: skip
        memory.remember_failure(state, "xs can be empty")
        assert memory.failures.search("ZeroDivisionError: division by zero", "python", threshold=0.0)
    finally:
        memory.close()
    assert chat.requests == []


@pytest.mark.parametrize(
    ("spec", "sentence"),
    [
        ("word2vec", "embedder spec 'word2vec' is not known"),
        ("local:big", "embedder spec 'local:big' is not known"),
        ("openai:text-embedding-3-large@3072", "embedding dimension 3072 is out of range"),
        (
            "openai:text-embedding-3-large@many",
            "embedder spec 'openai:text-embedding-3-large@many' has a dimension",
        ),
    ],
)
def test_bad_specs_are_one_sentence(monkeypatch: pytest.MonkeyPatch, spec: str, sentence: str) -> None:
    monkeypatch.setenv(API_KEY_ENV, "sk-test")
    with pytest.raises(UserInputError) as caught:
        get_embedder(spec)
    assert str(caught.value).startswith(sentence)


def test_the_local_model_gives_unit_vectors_of_384(embedder: LocalEmbedder) -> None:
    vectors = embedder.embed(["ZeroDivisionError: division by zero", "KeyError: <str>"])
    assert [len(v) for v in vectors] == [384, 384]
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4) for v in vectors)
    assert embedder.embed([]) == []


def test_vector_checks(embedder: LocalEmbedder) -> None:
    good = [0.0] * 384
    check_vectors(embedder, [good, good], expected=2)
    with pytest.raises(EmbeddingDimensionError, match="returned 1 vectors for 2 texts"):
        check_vectors(embedder, [good], expected=2)
    with pytest.raises(EmbeddingDimensionError, match="declares 384 dimensions but returned a vector of 385"):
        check_vectors(embedder, [[*good, 0.0]])
    with pytest.raises(EmbeddingError, match="NaN"):
        check_vectors(embedder, [[math.nan] * 384])
