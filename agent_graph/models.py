"""Chat models by spec: `provider:name`, `llamacpp:/path/model.gguf`, or `scripted:/path.json`.

`openai:name` goes to OpenAI or the OpenAI-compatible server at `base_url` (`agent_graph.openai_compat`);
other `provider:name` specs go through LangChain's `init_chat_model` (anthropic, ollama, ...).
`llamacpp:` runs a GGUF file in-process with llama-cpp-python, with the settings that keep
Qwen-family models correct. Instances are cached: loading a local model takes seconds, and
reusing one keeps llama.cpp's prompt cache warm across calls (our prompts keep a stable
prefix for exactly that reason).
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent_graph.context import Context
from agent_graph.errors import ServiceUnavailableError, UserInputError
from agent_graph.paths import models_dir

_cache: dict[tuple[Any, ...], BaseChatModel] = {}
_registered: dict[str, BaseChatModel] = {}
_lock = threading.Lock()

# Preferred local models, best first: the first one present is the default.
PREFERRED_LOCAL = (
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
)


def register_model(spec: str, model: BaseChatModel) -> None:
    """Make an in-memory model available under `spec` (used by tests and embedding apps)."""
    _registered[spec] = model


def local_models() -> list[Path]:
    """GGUF files in the models folder, preferred ones first."""
    folder = models_dir()
    if not folder.is_dir():
        return []
    found = sorted(folder.glob("*.gguf"))
    rank = {name: i for i, name in enumerate(PREFERRED_LOCAL)}
    return sorted(found, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def default_model_spec(base_url: str = "") -> str:
    """The model used when none is configured: the first one the server at `base_url` serves, else
    OpenAI's with a key, else the best local GGUF."""
    if base_url:
        from agent_graph.endpoints import probe

        found = probe(base_url, timeout=10.0)
        if not found.answers:
            raise ServiceUnavailableError(
                f"cannot reach the model server at {found.url} to ask which model it serves; "
                "start it or fix --base-url (AGENT_GRAPH_BASE_URL)."
            )
        if not found.models:
            raise UserInputError(
                f"the model server at {found.url} does not say which model it serves ({found.detail}); "
                "choose one with --model openai:NAME."
            )
        return f"openai:{found.models[0]}"
    if os.environ.get("OPENAI_API_KEY"):
        return "openai:gpt-4o-mini"
    local = local_models()
    if local:
        return f"llamacpp:{local[0]}"
    raise ServiceUnavailableError(
        f"no chat model is configured and no local model is in {models_dir()}; "
        "run scripts/fetch-model.sh, set AGENT_GRAPH_MODEL, or set OPENAI_API_KEY."
    )


def resolve_spec(spec: str, base_url: str = "") -> str:
    """`spec`, or the default model (see `default_model_spec`) when it is empty."""
    return spec.strip() or default_model_spec(base_url)


def get_chat_model(spec: str, context: Context) -> BaseChatModel:
    """The chat model for `spec` (empty: the default), built once per process."""
    spec = resolve_spec(spec, context.base_url)
    if spec in _registered:
        return _registered[spec]
    provider, sep, name = spec.partition(":")
    if not sep or not name:
        raise UserInputError(
            f"model spec {spec!r} is not 'provider:name'; use e.g. openai:gpt-4o or llamacpp:/path/model.gguf."
        )
    key = (
        spec,
        context.base_url,
        context.temperature,
        context.context_size,
        context.max_output_tokens,
        context.seed,
        context.prompt_cache_mb,
        context.threads,
        context.request_timeout_seconds,
        context.request_retries,
        context.request_concurrency,
    )
    with _lock:
        if key not in _cache:
            _cache[key] = _build(provider, name, context)
        return _cache[key]


def release_models() -> None:
    """Free every model built so far (a local model holds its weights and saved prompt states in RAM)."""
    with _lock:
        for model in _cache.values():
            close = getattr(getattr(model, "client", None), "close", None)
            if callable(close):
                close()
        _cache.clear()


def _build(provider: str, name: str, context: Context) -> BaseChatModel:
    if provider == "llamacpp":
        return _llamacpp(Path(name).expanduser(), context)
    if provider == "scripted":
        from agent_graph.testing import load_script

        path = Path(name)
        if not path.is_file():
            raise UserInputError(f"scripted model file {path} does not exist.")
        return load_script(path)
    if provider == "openai":
        return _openai(name, context)
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {"temperature": context.temperature, "max_tokens": context.max_output_tokens}
    if context.base_url:
        kwargs["base_url"] = context.base_url
    try:
        return init_chat_model(name, model_provider=provider, **kwargs)
    except ImportError as exc:
        raise UserInputError(
            f"the model provider {provider!r} needs a package that is not installed ({exc}); install it."
        ) from None
    except ValueError as exc:
        raise UserInputError(f"model spec {provider}:{name} was refused: {exc}") from None


def _openai(name: str, context: Context) -> BaseChatModel:
    """OpenAI, or the OpenAI-compatible server at `context.base_url`, with the run's timeout and retries.

    The client retries connection failures, timeouts, 408/409/429 (honouring `Retry-After`) and
    5xx answers with exponential backoff; the runner turns the error left when they are spent
    into an interrupted, resumable run.
    """
    from openai import Timeout

    from agent_graph.endpoints import api_key, endpoint
    from agent_graph.openai_compat import CompatibleChatOpenAI

    url = endpoint(context.base_url)
    key = api_key(url)
    if key is None:
        raise UserInputError(
            f"the model openai:{name} needs OPENAI_API_KEY; set it, or point --base-url at an "
            "OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1)."
        )
    return CompatibleChatOpenAI(
        model=name,
        base_url=url,
        api_key=key,  # type: ignore[arg-type]  # pydantic coerces str to SecretStr
        temperature=context.temperature,
        max_tokens=context.max_output_tokens,  # type: ignore[call-arg]  # alias of max_completion_tokens
        # Connecting is quick or fails; only the answer may take long (a CPU server writing a file).
        timeout=Timeout(context.request_timeout_seconds, connect=min(10.0, context.request_timeout_seconds)),
        max_retries=context.request_retries,
        max_concurrent=context.request_concurrency,
        seed=context.seed if context.seed >= 0 else None,
    )


def _sampling_seed(seed: int) -> int:
    """The seed llama.cpp gets: the configured one, or a fresh random one for -1.

    llama-cpp-python draws each call's seed from `random.Random(seed)`, so its own "-1: random"
    is a fixed sequence: every process would repeat the same samples, and running a failed goal
    again would fail the same way.
    """
    return seed if seed >= 0 else secrets.randbelow(2**31)


def _llamacpp(path: Path, context: Context) -> BaseChatModel:
    if not path.is_file():
        raise UserInputError(
            f"local model file {path} does not exist; run scripts/fetch-model.sh or fix the path."
        )
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise ServiceUnavailableError(
            "llamacpp models need llama-cpp-python: install agent-graph[local] (scripts/setup.sh does)."
        ) from None
    from agent_graph.llamacpp import LocalChatModel

    model = LocalChatModel(
        model_path=str(path),
        n_ctx=context.context_size,
        n_batch=256,  # larger batches are slower on 2-core machines and gain nothing
        n_threads=context.threads or os.cpu_count() or 2,
        rope_freq_base=0.0,  # 0 keeps the GGUF's own value; ChatLlamaCpp's default breaks Qwen
        repeat_penalty=1.0,  # code repeats tokens legitimately; a penalty corrupts it
        temperature=context.temperature,
        max_tokens=context.max_output_tokens,
        seed=_sampling_seed(context.seed),
        verbose=False,
    )
    if context.prompt_cache_mb > 0:
        # llama.cpp reuses only the prefix shared with the call just before; the roles take turns,
        # so without saved states every call evaluates its whole prompt again. With them, e.g. the
        # coder's next call resumes after its stable system prompt, goal and plan.
        from agent_graph.prompt_states import PromptStateCache

        cache = PromptStateCache(context.prompt_cache_mb << 20, keeps_all_logits=model.logits_all)
        model.client.set_cache(cache)
    return model
