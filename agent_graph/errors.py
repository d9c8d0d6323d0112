"""Errors that reach the user as one clear sentence and an exit code, never a traceback."""

from __future__ import annotations

import json


class AgentGraphError(Exception):
    """Base class: the message is one sentence saying what was wrong and what to do."""

    exit_code = 1


class UserInputError(AgentGraphError):
    """Bad input or configuration (exit code 2)."""

    exit_code = 2


class ServiceUnavailableError(AgentGraphError):
    """A needed service — database, sandbox or model — cannot be reached (exit code 3)."""

    exit_code = 3


class TerminatedError(BaseException):
    """SIGTERM (`kill`, `timeout`, a service manager stopping us). Like Ctrl-C, the running task is
    marked interrupted and can be resumed. A BaseException, as KeyboardInterrupt is, so no
    `except Exception` on the way swallows it; not a KeyboardInterrupt, which the CLI framework
    would turn into a silent exit code."""


# What the model service's own client (openai, anthropic and other SDKs built alike) raises, by
# class name: the SDKs are optional imports, and their errors share these names and attributes.
_UNREACHABLE = {"APIConnectionError", "APITimeoutError"}
_REFUSED_KEY = {"AuthenticationError", "PermissionDeniedError"}
_ENDPOINT_SUFFIXES = (
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/responses",
    "/messages",
    "/models",
)


def _error_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def is_model_service_error(exc: BaseException) -> bool:
    """Whether `exc` came from talking to a model server (as opposed to a bug or a bad answer)."""
    names = _error_names(exc)
    return bool(names & (_UNREACHABLE | {"APIStatusError", "APIError"})) and hasattr(exc, "request")


def endpoint_of(exc: BaseException) -> str:
    """The base URL the failed request went to (`http://host:port/v1`), or '' when unknown."""
    request = getattr(exc, "request", None)
    url = str(getattr(request, "url", "") or "")
    url = url.split("?", 1)[0].rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if url.endswith(suffix):
            return url.removesuffix(suffix)
    return url


def model_service_error(exc: BaseException, model: str = "") -> AgentGraphError | None:
    """The one sentence (and exit code) for an error from a model server, or None if `exc` is not one.

    Unreachable, timed out, rate limited after the retries, or a server error: the service is
    unavailable (exit 3). A refused key or an unknown model is the user's configuration (exit 2).
    """
    if not is_model_service_error(exc):
        return None
    names = _error_names(exc)
    where = endpoint_of(exc) or "the configured endpoint"
    model = model or _requested_model(exc)
    status = getattr(exc, "status_code", None)
    detail = _server_message(exc)
    if "APITimeoutError" in names:
        return ServiceUnavailableError(
            f"the model server at {where} did not answer in time, even after retrying; "
            "check that it is running, or raise models.request_timeout_seconds."
        )
    if names & _UNREACHABLE:
        return ServiceUnavailableError(
            f"cannot reach the model server at {where}; start it or fix --base-url (AGENT_GRAPH_BASE_URL)."
        )
    if names & _REFUSED_KEY or status in (401, 403):
        return UserInputError(
            f"the model server at {where} refused the API key (HTTP {status}); set OPENAI_API_KEY to a key it accepts."
        )
    if status == 404:
        named = f" for model {model!r}" if model else ""
        return UserInputError(
            f"the model server at {where} answered 404 Not Found{named}; check the model name and "
            "the base URL (an OpenAI-compatible one usually ends in /v1)."
        )
    if status == 429:
        return ServiceUnavailableError(
            f"the model server at {where} kept refusing with 429 Too Many Requests after the retries{detail}."
        )
    return ServiceUnavailableError(
        f"the model server at {where} answered HTTP {status or '?'} after the retries{detail}."
    )


def _server_message(exc: BaseException) -> str:
    """` (the server's own words)`, short and on one line, when it gave any; else ''."""
    body = getattr(exc, "body", None)
    text = ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = str(inner.get("message", "") if isinstance(inner, dict) else inner)
    elif isinstance(body, str):
        text = body
    text = " ".join(text.split())
    return f" ({text[:160]})" if text else ""


def _requested_model(exc: BaseException) -> str:
    """The model name the failed request asked for, read from its JSON body ('' if none)."""
    content = getattr(getattr(exc, "request", None), "content", b"")
    try:
        body = json.loads(content or b"{}")
    except (ValueError, TypeError):
        return ""
    return str(body.get("model", "")) if isinstance(body, dict) else ""
