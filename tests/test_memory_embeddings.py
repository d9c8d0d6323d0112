"""Embedders: picking one by spec, the real local model's output, and the vector checks."""

from __future__ import annotations

import math

import pytest

from agent_graph.errors import UserInputError
from agent_graph.memory.embeddings import (
    EmbeddingDimensionError,
    EmbeddingError,
    LocalEmbedder,
    OpenAIEmbedder,
    check_vectors,
    get_embedder,
)
from tests.memory_support import embedder

__all__ = ["embedder"]  # a fixture, imported for pytest


def test_the_default_is_local_without_a_key_and_openai_with_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert isinstance(get_embedder(), LocalEmbedder)
    assert isinstance(get_embedder("local"), LocalEmbedder)
    with pytest.raises(UserInputError, match="needs OPENAI_API_KEY"):
        get_embedder("openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    default = get_embedder()
    assert isinstance(default, OpenAIEmbedder)
    assert (default.name, default.dim) == ("openai/text-embedding-3-large", 1536)
    small = get_embedder("openai:text-embedding-3-small@512")
    assert (small.name, small.dim) == ("openai/text-embedding-3-small", 512)


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
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
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
