"""The run settings: one typed `Context` carried into the graph with `context=`.

Precedence, lowest first: the defaults below, `config/settings.yaml` (or the file named by
`--config` / `AGENT_GRAPH_CONFIG`), environment variables, CLI flags. The settings file is
nested by topic for readability; `Context` is flat so that LangGraph Studio can show and edit
every field.
"""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields, make_dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args, get_type_hints

import yaml

from agent_graph.errors import UserInputError
from agent_graph.sandbox.base import SandboxSettings
from agent_graph.sandbox.dependencies import default_allowlist_path
from agent_graph.sandbox.safety import DEFAULT_BLOCK_OPERATIONS, SafetyRules

if TYPE_CHECKING:
    from agent_graph.services import Services

Language = Literal["python", "node"]
Profile = Literal["library", "cli_tool", "web_app", "data_pipeline"]
LANGUAGES: tuple[str, ...] = get_args(Language)
PROFILES: tuple[str, ...] = get_args(Profile)


def _meta(description: str, section: str, env: str | None = None) -> dict[str, Any]:
    return {"description": description, "section": section, "env": env}


@dataclass(frozen=True)
class Context:
    """Everything a run needs to know that is not the task itself."""

    # models
    model: str = field(
        default="",
        metadata=_meta(
            "Chat model spec for every role: 'provider:name' (openai:gpt-4o, ollama:qwen2.5-coder) or "
            "'llamacpp:/path/model.gguf'. Empty: an OpenAI model when OPENAI_API_KEY is set, else a local GGUF.",
            "models",
            "AGENT_GRAPH_MODEL",
        ),
    )
    planner_model: str = field(
        default="", metadata=_meta("Model spec for the planner (empty: `model`).", "models")
    )
    coder_model: str = field(
        default="", metadata=_meta("Model spec for the coder (empty: `model`).", "models")
    )
    tester_model: str = field(
        default="", metadata=_meta("Model spec for the tester (empty: `model`).", "models")
    )
    reflector_model: str = field(
        default="", metadata=_meta("Model spec for the reflector (empty: `model`).", "models")
    )
    base_url: str = field(
        default="",
        metadata=_meta("Base URL of an OpenAI-compatible server.", "models", "AGENT_GRAPH_BASE_URL"),
    )
    request_timeout_seconds: float = field(
        default=600.0,
        metadata=_meta(
            "Seconds to wait for one answer from a model server before retrying (a CPU server writing "
            "a long file is slow; a hung one is retried after this).",
            "models",
            "AGENT_GRAPH_REQUEST_TIMEOUT",
        ),
    )
    request_retries: int = field(
        default=3,
        metadata=_meta(
            "Retries of a model server request that failed transiently (connection, timeout, 429 honouring "
            "Retry-After, 5xx), with exponential backoff; then the run stops as interrupted, resumable.",
            "models",
            "AGENT_GRAPH_REQUEST_RETRIES",
        ),
    )
    request_concurrency: int = field(
        default=0,
        metadata=_meta(
            "Most requests in flight to one model server at a time (0: no limit). 1 for a server that "
            "answers one request at a time (llama-cpp-python's, a llama.cpp server without -np): the "
            "others then wait here instead of timing out in its queue.",
            "models",
            "AGENT_GRAPH_REQUEST_CONCURRENCY",
        ),
    )
    temperature: float = field(default=0.2, metadata=_meta("Sampling temperature.", "models"))
    context_size: int = field(
        default=8192, metadata=_meta("Context window for local llama.cpp models (tokens).", "models")
    )
    prompt_cache_mb: int = field(
        default=512,
        metadata=_meta(
            "RAM for llama.cpp's saved prompt states (MB; 0: off). Each role's next call resumes "
            "from its own last prompt instead of evaluating it again.",
            "models",
        ),
    )
    threads: int = field(
        default=0,
        metadata=_meta(
            "CPU threads for local llama.cpp models (0: every core). Two runs side by side on a small "
            "machine go faster with 1 each than sharing every core.",
            "models",
            "AGENT_GRAPH_THREADS",
        ),
    )
    seed: int = field(
        default=-1,
        metadata=_meta("Sampling seed for local models (-1: random).", "models", "AGENT_GRAPH_SEED"),
    )
    max_output_tokens: int = field(
        default=2048, metadata=_meta("Most tokens one model answer may use.", "models")
    )
    price_input_per_mtok: float = field(
        default=-1.0,
        metadata=_meta(
            "USD per million input tokens for cost accounting (negative: the built-in price list).", "models"
        ),
    )
    price_output_per_mtok: float = field(
        default=-1.0,
        metadata=_meta(
            "USD per million output tokens for cost accounting (negative: the built-in price list).", "models"
        ),
    )
    # the loop
    max_iterations: int = field(
        default=15,
        metadata=_meta(
            "Circuit breaker hard stop: code/test iterations before the run ends as `stopped`.",
            "loop",
            "AGENT_GRAPH_MAX_ITERATIONS",
        ),
    )
    warn_iterations: int = field(
        default=12,
        metadata=_meta(
            "Circuit breaker warning: from this iteration the reflector must change approach.", "loop"
        ),
    )
    samples_per_iteration: int = field(
        default=3,
        metadata=_meta(
            "After a failed iteration, write up to this many versions of the code and keep the one the "
            "existing tests like best (1: one version).",
            "loop",
        ),
    )
    first_samples: int = field(
        default=4,
        metadata=_meta(
            "Versions of the code to write in the first iteration, before any test exists: from the "
            "goal and plan, from the goal alone, as a plain programmer, reasoned first from the goal "
            "alone, then hotter from the plan. Once "
            "the tests are written they pick one by agreement (CodeT): the versions returning the same "
            "outputs on the tests' inputs, times the tests they pass (1: one version).",
            "loop",
        ),
    )
    function_checks: Literal["auto", "on", "off"] = field(
        default="auto",
        metadata=_meta(
            "The function-level machinery (checks of generated tests against the goal's signatures "
            "and examples, choice by agreement of outputs): auto runs it for Python libraries (goals "
            "that ask for functions), on for any Python goal, off never.",
            "loop",
            "AGENT_GRAPH_FUNCTION_CHECKS",
        ),
    )
    coder_tool_calls: int = field(
        default=-1,
        metadata=_meta(
            "File tool calls (list, read, write, edit) the coder may make when it fixes code, per "
            "iteration; 0: always rewrite whole files; -1 (auto): 6 for hosted models, 0 for local, "
            "self-hosted (base_url) and scripted ones (a small model rewrites whole files more reliably).",
            "loop",
        ),
    )
    sample_temperature: float = field(
        default=0.8, metadata=_meta("Sampling temperature of the extra versions, for diversity.", "loop")
    )
    max_tokens: int = field(
        default=0,
        metadata=_meta("Token budget per run; 0 means unlimited.", "loop", "AGENT_GRAPH_MAX_TOKENS"),
    )
    budget_usd: float = field(
        default=0.0,
        metadata=_meta(
            "Cost budget per run in US dollars, priced from the pricing table (or models.price_*); the run "
            "stops like at the token budget once it is spent. 0 means unlimited; calls of a model with no "
            "known price are not counted (the run says so once).",
            "loop",
            "AGENT_GRAPH_BUDGET_USD",
        ),
    )
    # long-term memory
    memory_enabled: bool = field(
        default=True,
        metadata=_meta(
            "Use and grow the pgvector memory of failures and solved tasks.", "memory", "AGENT_GRAPH_MEMORY"
        ),
    )
    embedder: str = field(
        default="local",
        metadata=_meta(
            "Embedding model of the memory, a setting of its own: 'local' (all-MiniLM-L6-v2 on the CPU) or "
            "'openai:MODEL@DIM' (e.g. openai:text-embedding-3-large@1536, with its key in "
            "AGENT_GRAPH_EMBEDDER_API_KEY; the chat model's key is never used for memory).",
            "memory",
            "AGENT_GRAPH_EMBEDDER",
        ),
    )
    embedder_base_url: str = field(
        default="",
        metadata=_meta(
            "Base URL of an OpenAI-compatible embeddings endpoint (empty: OpenAI's); never the chat base_url.",
            "memory",
            "AGENT_GRAPH_EMBEDDER_BASE_URL",
        ),
    )
    # where files go
    workspace_root: str = field(
        default="",
        metadata=_meta(
            "Folder holding one workspace per task (empty: under the user's data dir).",
            "paths",
            "AGENT_GRAPH_WORKSPACES",
        ),
    )
    # structured logs
    log_file: str = field(
        default="",
        metadata=_meta(
            "JSON log file, one object a line (empty: <data dir>/logs/agent.log).",
            "logging",
            "AGENT_GRAPH_LOG_FILE",
        ),
    )
    log_max_bytes: int = field(
        default=10_000_000, metadata=_meta("Size at which the log file is rotated.", "logging")
    )
    log_backup_count: int = field(
        default=5, metadata=_meta("Rotated log files kept (agent.log.1 ... .N).", "logging")
    )
    # the sandbox
    sandbox_backend: Literal["docker", "local", "auto"] = field(
        default="auto",
        metadata=_meta("Sandbox backend: docker, local or auto.", "sandbox", "AGENT_GRAPH_SANDBOX"),
    )
    sandbox_image: str = field(
        default="agent-graph-sandbox:latest", metadata=_meta("Docker image for the sandbox.", "sandbox")
    )
    sandbox_timeout_seconds: float = field(
        default=60.0, metadata=_meta("Wall-clock limit for one test run.", "sandbox")
    )
    sandbox_memory_mb: int = field(default=512, metadata=_meta("Memory limit inside the sandbox.", "sandbox"))
    sandbox_cpus: float = field(default=1.0, metadata=_meta("CPU cores the sandbox may use.", "sandbox"))
    sandbox_pids: int = field(default=128, metadata=_meta("Process limit inside the sandbox.", "sandbox"))
    # safety
    block_operations: tuple[str, ...] = field(
        default=DEFAULT_BLOCK_OPERATIONS,
        metadata=_meta("Operations the static safety gate blocks before any execution.", "safety"),
    )
    bandit_severity: Literal["low", "medium", "high"] = field(
        default="medium", metadata=_meta("Lowest Bandit severity that blocks.", "safety")
    )
    bandit_confidence: Literal["low", "medium", "high"] = field(
        default="medium", metadata=_meta("Lowest Bandit confidence that blocks.", "safety")
    )
    auto_approve_allowlisted: bool = field(
        default=False,
        metadata=_meta("Whether --yes may approve dependency requests without asking.", "safety"),
    )
    allowed_deps_file: str = field(
        default="",
        metadata=_meta(
            "Allowlist of packages usable without approval (empty: ./config/allowed_deps.json if present, "
            "else the list shipped with agent-graph).",
            "safety",
            "AGENT_GRAPH_ALLOWED_DEPS",
        ),
    )

    @cached_property
    def services(self) -> Services:
        """The run's sandbox and memory, built from these settings on first use (`agent_graph.services`)."""
        from agent_graph.services import Services

        return Services(self)

    def with_services(self, services: Services) -> Context:
        """This context with services of the caller's own (another sandbox backend or memory)."""
        self.__dict__["services"] = services
        return self

    def model_for(self, role: str) -> str:
        """The model spec a role uses: its own override, else the shared one."""
        override: str = getattr(self, f"{role}_model", "")
        return override or self.model

    def prices(self) -> tuple[float, float] | None:
        """The configured (input, output) price per million tokens, or None for the built-in list."""
        if self.price_input_per_mtok < 0 or self.price_output_per_mtok < 0:
            return None
        return self.price_input_per_mtok, self.price_output_per_mtok

    def sandbox_settings(self) -> SandboxSettings:
        return SandboxSettings(
            backend=self.sandbox_backend,
            image=self.sandbox_image,
            timeout_seconds=self.sandbox_timeout_seconds,
            memory_mb=self.sandbox_memory_mb,
            cpus=self.sandbox_cpus,
            pids=self.sandbox_pids,
        )

    def tool_calls_for_coder(self) -> int:
        """The coder's file tool calls per fix (`coder_tool_calls`, with auto resolved by its model)."""
        if self.coder_tool_calls >= 0:
            return self.coder_tool_calls
        provider = self.model_for("coder").split(":", 1)[0]
        self_hosted = provider == "openai" and bool(self.base_url)
        return 0 if provider in ("llamacpp", "scripted", "") or self_hosted else 6

    def allowed_deps_path(self) -> Path | None:
        """The allowlist in force: the `safety.allowed_deps_file` setting, else
        `./config/allowed_deps.json`, else the default that ships with the package."""
        if self.allowed_deps_file:
            return Path(self.allowed_deps_file).expanduser()
        return default_allowlist_path()

    def safety_rules(self) -> SafetyRules:
        """What the static safety gate blocks, from these settings."""
        return SafetyRules.from_context(self, allowed_deps_path=self.allowed_deps_path())

    def validated(self) -> Context:
        """Check the values a user can get wrong; raise `UserInputError` with one sentence."""
        if self.max_iterations < 1:
            raise UserInputError(f"max_iterations must be at least 1, not {self.max_iterations}.")
        if not self.warn_iterations >= 1:
            raise UserInputError(f"warn_iterations must be at least 1, not {self.warn_iterations}.")
        if self.sandbox_backend not in ("docker", "local", "auto"):
            raise UserInputError(
                f"sandbox backend {self.sandbox_backend!r} is unknown; use docker, local or auto."
            )
        if self.log_max_bytes < 1 or self.log_backup_count < 0:
            raise UserInputError(
                "logging.log_max_bytes must be positive and logging.log_backup_count 0 or more."
            )
        if self.samples_per_iteration < 1 or self.first_samples < 1:
            raise UserInputError(
                "samples_per_iteration and first_samples must be at least 1, not "
                f"{self.samples_per_iteration} and {self.first_samples}."
            )
        if self.threads < 0:
            raise UserInputError(f"threads must be 0 (every core) or more, not {self.threads}.")
        if self.max_tokens < 0:
            raise UserInputError(f"max_tokens must be 0 (unlimited) or more, not {self.max_tokens}.")
        if not self.budget_usd >= 0:  # also refuses NaN
            raise UserInputError(f"budget_usd must be 0 (unlimited) or more, not {self.budget_usd}.")
        if not self.request_timeout_seconds > 0 or self.request_retries < 0 or self.request_concurrency < 0:
            raise UserInputError(
                "models.request_timeout_seconds must be positive, and models.request_retries and "
                "request_concurrency 0 or more, not "
                f"{self.request_timeout_seconds}, {self.request_retries} and {self.request_concurrency}."
            )
        return self


CONTEXT_FIELDS = {f.name: f for f in fields(Context)}


def default_config_path() -> Path | None:
    """The settings file in use: `AGENT_GRAPH_CONFIG`, else `./config/settings.yaml` if present."""
    named = os.environ.get("AGENT_GRAPH_CONFIG")
    if named:
        return Path(named)
    local = Path("config/settings.yaml")
    return local if local.is_file() else None


def _coerce(name: str, value: Any) -> Any:
    """Turn a YAML or environment value into the field's type, or raise one clear sentence."""
    current = CONTEXT_FIELDS[name].default
    if current is MISSING:  # pragma: no cover - every field has a default
        return value
    try:
        if isinstance(current, bool):
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if isinstance(current, tuple):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        return "" if value is None else str(value)
    except (TypeError, ValueError):
        raise UserInputError(
            f"setting {name} has the value {value!r}, which is not a {type(current).__name__}."
        ) from None


def load_settings_file(path: Path) -> dict[str, Any]:
    """Read a settings YAML into flat `Context` field values."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UserInputError(f"settings file {path} does not exist; fix the path or drop --config.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserInputError(
            f"settings file {path} is not valid YAML{where}; fix it and run again."
        ) from None
    if not isinstance(raw, dict):
        raise UserInputError(
            f"settings file {path} must hold a mapping of sections, not a {type(raw).__name__}."
        )
    values: dict[str, Any] = {}
    for section, entries in raw.items():
        if section in CONTEXT_FIELDS:  # a flat key is accepted too
            values[section] = _coerce(section, entries)
            continue
        if not isinstance(entries, dict):
            raise UserInputError(f"section {section!r} in {path} must be a mapping of settings.")
        for key, value in entries.items():
            name = _field_for(section, key)
            if name is None:
                raise UserInputError(
                    f"setting {section}.{key} in {path} is unknown; see config/settings.yaml."
                )
            values[name] = _coerce(name, value)
    return values


def _field_for(section: str, key: str) -> str | None:
    for candidate in (key, f"{section}_{key}"):
        found = CONTEXT_FIELDS.get(candidate)
        if found is not None and found.metadata.get("section") == section:
            return candidate
    return None


def load_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Field values from the environment: the named variables plus `AGENT_GRAPH_<FIELD>`."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for name, f in CONTEXT_FIELDS.items():
        for var in (f.metadata.get("env"), f"AGENT_GRAPH_{name.upper()}"):
            if var and env.get(var):
                values[name] = _coerce(name, env[var])
                break
    return values


def load_context(
    config_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Context:
    """Build the `Context`: defaults < settings file < environment < overrides (CLI flags)."""
    values: dict[str, Any] = {}
    path = config_path or default_config_path()
    if path is not None:
        values.update(load_settings_file(path))
    values.update(load_env(environ))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return replace(Context(), **values).validated()


def context_with_settings_defaults(
    name: str,
    module: str,
    config_path: Path | None = None,
    environ: dict[str, str] | None = None,
) -> type[Context]:
    """A `Context` subclass whose defaults are the settings file's and the environment's values.

    For LangGraph's server: Studio builds a run's `Context` from the fields it was given and the
    class defaults for the rest, so the CLI's precedence (defaults < settings file < environment)
    holds there only if the class itself carries it. Bind the result to `name` in `module`, so
    that it pickles by reference like any class.
    """
    loaded = load_context(config_path, environ=environ)
    types = get_type_hints(Context)  # real types: pydantic renders Studio's form from them
    specs = [
        (f.name, types[f.name], field(default=getattr(loaded, f.name), metadata=f.metadata))
        for f in fields(Context)
    ]
    schema = make_dataclass(name, specs, bases=(Context,), frozen=True, namespace={"__module__": module})
    return cast(type[Context], schema)
