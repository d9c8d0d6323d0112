"""OpenAI-compatible servers through the real client: retries, timeouts, malformed answers, usage and prices.

The server is `tests.fault_server.FaultServer`, a real HTTP server on 127.0.0.1 answering from a
script; the chat model is the one `--model openai:NAME --base-url URL` builds (langchain-openai and
the openai client, with their own retries and timeouts).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.context import Context
from agent_graph.endpoints import probe
from agent_graph.errors import ServiceUnavailableError, UserInputError, model_service_error
from agent_graph.llm import ModelOutputError, call_structured
from agent_graph.models import get_chat_model, release_models
from agent_graph.pricing import PRICES
from agent_graph.runner import run_task
from agent_graph.workflow import builder
from tests import scripts
from tests.fault_server import FaultServer


class Answer(BaseModel):
    text: str


GOOD = {"Answer": [{"args": {"text": "hello"}}] * 4}


@pytest.fixture
def server() -> Iterator[FaultServer]:
    fault = FaultServer(GOOD, retry_after=1.5, hang_seconds=4.0)
    with fault.running():
        yield fault
    release_models()


def ask(server: FaultServer, **settings: Any) -> tuple[Answer, Any]:
    context = Context(base_url=server.url, **{"request_retries": 2, **settings})
    model = get_chat_model("openai:fault-model", context)
    return call_structured(model, Answer, [HumanMessage("Say hello.")], retries=1)


def test_a_429_is_retried_after_the_servers_retry_after(server: FaultServer) -> None:
    server.fail_next("429")
    answer, usage = ask(server)
    assert answer.text == "hello"
    assert server.served == ["429", "ok"]
    # The client's own backoff would wait at most 0.5 s; the server asked for 1.5 s.
    assert server.arrivals[1] - server.arrivals[0] >= 1.5
    assert usage.total == server.usage[0]["total_tokens"]


@pytest.mark.parametrize("fault", ["500", "drop"])
def test_a_server_error_or_a_dropped_connection_is_retried_with_backoff(
    server: FaultServer, fault: str
) -> None:
    server.fail_next(fault, fault)
    answer, _ = ask(server)
    assert answer.text == "hello"
    assert server.served == [fault, fault, "ok"]
    first, second = (b - a for a, b in zip(server.arrivals, server.arrivals[1:], strict=False))
    assert first >= 0.3 and second >= 0.7 and second > first  # 0.5 s then 1 s, less up to 25% jitter


def test_a_hung_answer_is_abandoned_at_the_timeout_and_asked_again(server: FaultServer) -> None:
    server.fail_next("hang")
    answer, _ = ask(server, request_timeout_seconds=1.0)
    assert answer.text == "hello"
    assert server.served == ["hang", "ok"]
    waited = server.arrivals[1] - server.arrivals[0]
    assert 1.0 <= waited < server.hang_seconds  # the client gave up at its timeout, not the server's close


def test_a_malformed_tool_call_goes_through_the_unusable_answer_path(server: FaultServer) -> None:
    server.fail_next("malformed")
    answer, usage = ask(server)
    assert answer.text == "hello"
    assert server.served == ["malformed", "ok"]
    retry_prompt = server.requests[1]["messages"][-1]["content"]
    assert "previous answer was unusable" in retry_prompt
    assert usage.total == sum(u["total_tokens"] for u in server.usage)  # both answers count

    server.always = "malformed"
    with pytest.raises(ModelOutputError) as raised:
        ask(server)
    assert raised.value.usage.total == sum(u["total_tokens"] for u in server.usage[2:])


def test_when_the_retries_are_spent_the_error_names_the_server(server: FaultServer) -> None:
    server.always = "500"
    with pytest.raises(Exception) as raised:
        ask(server, request_retries=1)
    assert server.served == ["500", "500"]  # one try and one retry
    error = model_service_error(raised.value)
    assert isinstance(error, ServiceUnavailableError) and error.exit_code == 3
    assert server.url in str(error) and "HTTP 500" in str(error) and "the model crashed" in str(error)


@pytest.mark.parametrize(("limit", "most"), [(1, 1), (0, 3)])
def test_request_concurrency_keeps_requests_to_one_server_waiting_here(
    server: FaultServer, limit: int, most: int
) -> None:
    """With a limit of 1, versions written side by side wait in the client, not in the server's queue."""
    server.delay = 0.5
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: ask(server, request_concurrency=limit)[0].text, range(3)))
    assert answers == ["hello"] * 3
    assert server.most_in_flight == most


def test_nothing_listening_is_a_service_error_naming_the_url() -> None:
    context = Context(base_url="http://127.0.0.1:9/v1", request_retries=0)
    model = get_chat_model("openai:anything", context)
    with pytest.raises(Exception) as raised:
        call_structured(model, Answer, [HumanMessage("hi")])
    error = model_service_error(raised.value)
    assert isinstance(error, ServiceUnavailableError)
    assert str(error).startswith("cannot reach the model server at http://127.0.0.1:9/v1;")


def test_a_refused_key_and_an_unknown_route_are_configuration_errors(tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Refuses(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status = 401 if self.headers.get("Authorization") == "Bearer wrong" else 404
            body = b'{"error": {"message": "no"}}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Refuses)
    Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("OPENAI_API_KEY", "wrong")
            refused = model_service_error(_failure(url))
            env.delenv("OPENAI_API_KEY")
            missing = model_service_error(_failure(url))
    finally:
        httpd.shutdown()
        httpd.server_close()
        release_models()
    assert isinstance(refused, UserInputError) and "refused the API key (HTTP 401)" in str(refused)
    assert isinstance(missing, UserInputError) and "404" in str(missing) and "'lost-model'" in str(missing)


def _failure(url: str) -> BaseException:
    release_models()  # the key is read when the model is built
    model = get_chat_model("openai:lost-model", Context(base_url=url, request_retries=0))
    try:
        call_structured(model, Answer, [HumanMessage("hi")])
    except Exception as exc:
        return exc
    raise AssertionError("the call should have failed")


def test_the_key_is_sent_only_to_the_configured_endpoint(server: FaultServer, monkeypatch: Any) -> None:
    """OpenAI itself without a key is a configuration error; another server gets a placeholder."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    with pytest.raises(UserInputError, match="needs OPENAI_API_KEY"):
        get_chat_model("openai:gpt-4o", Context())
    ask(server)
    assert server.requests  # the local server was asked, with no key of the user's


def test_probe_says_whether_the_server_answers_and_what_it_serves(server: FaultServer) -> None:
    found = probe(server.url)
    assert found.answers and found.models == ["fault-model"]
    gone = probe("http://127.0.0.1:9/v1", timeout=1.0)
    assert not gone.answers and "refused" in gone.detail


def test_without_a_model_spec_the_servers_own_model_is_used(server: FaultServer) -> None:
    from agent_graph.models import resolve_spec

    assert resolve_spec("", server.url) == "openai:fault-model"
    with pytest.raises(ServiceUnavailableError, match=r"http://127\.0\.0\.1:9/v1"):
        resolve_spec("", "http://127.0.0.1:9/v1")


# -- whole runs over HTTP -----------------------------------------------------------------------------

ROLE_MODELS = {
    "planner": "gpt-4o-mini",
    "coder": "gpt-4o",
    "tester": "gpt-4.1-mini",
    "reflector": "gpt-4.1-nano",
}
PHASES = {"planner": "plan", "coder": "code", "tester": "test", "reflector": "reflect"}


def test_models_per_role_put_tokens_and_cost_on_their_own_phase(database_url: str, agent_home: Path) -> None:
    fault = FaultServer(scripts.fail_then_pass())
    with fault.running():
        context = Context(
            base_url=fault.url,
            first_samples=1,
            samples_per_iteration=1,
            coder_tool_calls=0,  # the script rewrites whole files; the file tools have their own tests
            planner_model=f"openai:{ROLE_MODELS['planner']}",
            coder_model=f"openai:{ROLE_MODELS['coder']}",
            tester_model=f"openai:{ROLE_MODELS['tester']}",
            reflector_model=f"openai:{ROLE_MODELS['reflector']}",
        )
        outcome = run_task("Write mean(xs); raise ValueError on an empty list.", "python", "library", context)
    release_models()
    assert outcome.status == "passed", outcome
    with open_checkpointer(database_url) as saver:
        values = (
            builder.compile(checkpointer=saver)
            .get_state({"configurable": {"thread_id": outcome.task_id}})
            .values
        )
    for role, name in ROLE_MODELS.items():
        sent = [u for body, u in zip(fault.requests, fault.usage, strict=True) if body["model"] == name]
        assert sent, f"the {role} never called {name}"
        price_in, price_out = PRICES[name]
        phase = PHASES[role]
        assert values["tokens"][phase] == sum(u["total_tokens"] for u in sent)
        expected = sum(u["prompt_tokens"] * price_in + u["completion_tokens"] * price_out for u in sent) / 1e6
        assert math.isclose(values["cost_usd"][phase], expected, rel_tol=1e-9)
    assert outcome.cost_usd == pytest.approx(sum(values["cost_usd"].values()), abs=1e-6)
    assert outcome.tokens == sum(u["total_tokens"] for u in fault.usage)


def test_the_cost_budget_stops_a_run(database_url: str, agent_home: Path) -> None:
    fault = FaultServer(scripts.never_fixed(), repeat_last=True)
    with fault.running():
        context = Context(
            base_url=fault.url,
            model="openai:gpt-4o",
            first_samples=1,
            samples_per_iteration=1,
            coder_tool_calls=0,
            budget_usd=0.002,
        )
        outcome = run_task("Write mean(xs); raise ValueError on an empty list.", "python", "library", context)
    release_models()
    assert outcome.status == "stopped", outcome
    assert "budget of $0.002 spent" in outcome.stop_reason
    assert outcome.cost_usd is not None and outcome.cost_usd >= 0.002
    assert outcome.iterations < context.max_iterations
