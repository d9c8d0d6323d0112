"""Where requests to OpenAI or an OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio,
Ollama) go, and with which key: decided here once, for the chat model and for `agent-graph models`.

The endpoint is the configured base URL, else `OPENAI_API_BASE` / `OPENAI_BASE_URL` (the SDK's own
variables), else OpenAI's; `OPENAI_API_KEY` goes to that endpoint only. Light to import: the
client itself lives in `agent_graph.openai_compat`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

OPENAI_BASE = "https://api.openai.com/v1"
# Sent as the key to a server that needs none: the client refuses to start without one.
NO_KEY = "not-needed"


def endpoint(base_url: str = "") -> str:
    """The base URL requests go to: the setting, else the SDK's environment variables, else OpenAI's."""
    chosen = base_url or os.environ.get("OPENAI_API_BASE") or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE
    return chosen.rstrip("/")


def is_openai(url: str) -> bool:
    return (urlsplit(url).hostname or "").endswith("openai.com")


def is_loopback(url: str) -> bool:
    """A server on this machine (its cost is the user's own electricity, not a price list's)."""
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def api_key(url: str) -> str | None:
    """The key for `url`: OPENAI_API_KEY; a placeholder for a server elsewhere than OpenAI that needs
    none; None when OpenAI itself is meant and no key is set (the caller says what to do)."""
    key = os.environ.get("OPENAI_API_KEY", "")
    if key:
        return key
    return None if is_openai(url) else NO_KEY


@dataclass
class Probe:
    """What a server said when asked for its models: whether it answered, and what it serves."""

    url: str
    answers: bool
    models: list[str] = field(default_factory=list)
    detail: str = ""


def probe(base_url: str = "", timeout: float = 3.0) -> Probe:
    """Ask the endpoint for `GET /models` with a short timeout; never raises."""
    url = endpoint(base_url)
    key = api_key(url)
    request = urllib.request.Request(f"{url}/models", headers={"Accept": "application/json"})
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return Probe(url, True, detail=f"GET /models gave HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Probe(url, False, detail=str(reason))
    except ValueError:
        return Probe(url, True, detail="GET /models is not JSON")
    data = body.get("data") if isinstance(body, dict) else None
    names = [str(item.get("id")) for item in data or [] if isinstance(item, dict) and item.get("id")]
    return Probe(url, True, names, detail=f"serves {', '.join(names)}" if names else "names no model")
