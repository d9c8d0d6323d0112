"""A real HTTP server on the loopback interface speaking OpenAI's chat-completions API, with faults on demand.

It answers from a script (the format of `agent_graph.testing.ScriptedChatModel`: for each forced
tool, the next `{"args": {...}}` or `{"content": "..."}`), or forwards every request to a real
upstream server (`upstream=`, e.g. llama.cpp's) and keeps the `usage` each answer reported. Before
answering it can misbehave, once per queued fault or on every request (`always`):

- `"429"`: Too Many Requests with `Retry-After: <retry_after>` seconds;
- `"500"`: an internal server error;
- `"drop"`: the connection is closed without any answer;
- `"hang"`: nothing is sent for `hang_seconds` (past the client's timeout), then the connection closes;
- `"malformed"`: a 200 answer whose tool call's arguments are not JSON.

`delay` makes each scripted answer slow, and `most_in_flight` says how many it answered at once.

Only the HTTP exchange is under the test's control: the client (openai, langchain-openai), its
retries and timeouts, and everything behind them are the real ones.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("429", "500", "drop", "hang", "malformed")


class FaultServer:
    """See the module docstring. `requests` holds every chat request's JSON body, in arrival order."""

    def __init__(
        self,
        script: Any = None,
        *,
        repeat_last: bool = False,
        upstream: str = "",
        retry_after: float = 1.0,
        hang_seconds: float = 3.0,
        model_ids: tuple[str, ...] = ("fault-model",),
    ) -> None:
        self.script = script if script is not None else {}
        self.repeat_last = repeat_last
        self.upstream = upstream.rstrip("/")
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.model_ids = model_ids
        self.faults: list[str] = []
        self.always: str | None = None
        self.fail_tools: dict[str, str] = {}  # a fault for every request forcing this tool
        self.delay = 0.0  # seconds each scripted answer takes (a slow model)
        self.in_flight = 0
        self.most_in_flight = 0  # the most chat requests it was answering at once
        self.requests: list[dict[str, Any]] = []
        self.arrivals: list[float] = []  # monotonic time of each chat request
        self.served: list[str] = []  # what each chat request got: a fault's name or "ok"
        self.usage: list[dict[str, int]] = []  # the `usage` of every successful answer
        self.answers: list[dict[str, Any]] = []  # every successful answer, as sent
        self._positions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def fail_next(self, *faults: str) -> None:
        """Misbehave on the next requests, one fault each, in this order."""
        assert all(f in FAULTS for f in faults), faults
        with self._lock:
            self.faults.extend(faults)

    def tools_requested(self) -> list[str]:
        """The forced tool of each chat request, in order ('' for none)."""
        return [_forced_tool(body) or "" for body in self.requests]

    @contextmanager
    def running(self) -> Iterator[FaultServer]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self._server = server
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()

    # -- what a request gets ---------------------------------------------------------------
    def _take_fault(self, body: dict[str, Any]) -> str:
        with self._lock:
            self.requests.append(body)
            self.arrivals.append(time.monotonic())
            tool = _forced_tool(body) or ""
            fault = self.faults.pop(0) if self.faults else (self.fail_tools.get(tool) or self.always or "ok")
            self.served.append(fault)
            return fault

    def _next_answer(self, tool: str | None) -> dict[str, Any]:
        with self._lock:
            key = tool or "content"
            answers = self.script.get(key) or [] if isinstance(self.script, dict) else self.script
            position = self._positions.get(key, 0)
            if position >= len(answers):
                if self.repeat_last and answers:
                    return dict(answers[-1])
                raise LookupError(f"the script has no answer left for {key!r} (call {position + 1})")
            self._positions[key] = position + 1
            return dict(answers[position])

    def completion(self, body: dict[str, Any], malformed: bool = False) -> dict[str, Any]:
        """The chat completion a scripted answer makes, with `usage` counted as characters / 4."""
        tool = _forced_tool(body)
        prompt = sum(len(json.dumps(m.get("content"))) for m in body.get("messages", [])) // 4
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if malformed:
            arguments = '{"path": "broken.py", "content": "def f(:'  # not JSON, and no closing
            finish = "tool_calls"
        else:
            answer = self._next_answer(tool)
            if "args" not in answer:
                message["content"] = str(answer.get("content", ""))
                arguments = ""
                finish = "stop"
            else:
                arguments = json.dumps(answer["args"])
                cuts = [arguments.find(s) for s in body.get("stop") or [] if s and s in arguments]
                arguments = arguments[: min(cuts)] if cuts else arguments  # a stop ends it, left open
                finish = "stop" if cuts else "tool_calls"
        if arguments:
            name = tool or "tool"
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}",
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ]
        completion = max(1, len(arguments or message["content"] or "") // 4)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fault-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": usage,
        }


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        return str(choice.get("function", {}).get("name") or "") or None
    return None


def _handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(
                    200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.model_ids]}
                )
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(raw or b"{}")
            with server._lock:
                server.in_flight += 1
                server.most_in_flight = max(server.most_in_flight, server.in_flight)
            try:
                self._answer(body, raw)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _answer(self, body: dict[str, Any], raw: bytes) -> None:
            fault = server._take_fault(body)
            if fault == "429":
                self._send(
                    429,
                    {"error": {"message": "rate limited", "type": "rate_limit_exceeded"}},
                    {"Retry-After": f"{server.retry_after:g}"},
                )
            elif fault == "500":
                self._send(500, {"error": {"message": "the model crashed", "type": "server_error"}})
            elif fault == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif fault == "hang":
                time.sleep(server.hang_seconds)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif server.upstream:
                self._forward(raw)
            else:
                time.sleep(server.delay)
                try:
                    answer = server.completion(body, malformed=fault == "malformed")
                    with server._lock:
                        server.usage.append(dict(answer["usage"]))
                        server.answers.append(answer)
                    self._send(200, answer)
                except LookupError as exc:
                    self._send(400, {"error": {"message": str(exc)}})

        def _forward(self, raw: bytes) -> None:
            request = urllib.request.Request(
                f"{server.upstream}/chat/completions",
                data=raw,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=3600) as response:
                answer = json.loads(response.read())
            with server._lock:
                server.usage.append(dict(answer.get("usage") or {}))
                server.answers.append(answer)
            self._send(200, answer)

    return Handler
