"""A scripted chat model: the one fake the tests use, and the `scripted:` model spec.

It replays planned answers. A script is either a list (answers in call order) or a mapping
from tool name to a list of answers (each forced tool call takes the next answer for its
tool), so scripts stay valid when the graph reorders independent calls. An answer is a dict:
`{"args": {...}}` for a tool call, or `{"content": "..."}` for plain text; `"delay": seconds`
makes it think that long first (to kill a run mid-iteration in tests); `"sample": k` keeps the
answer for the k-th of the versions the graph writes side by side, which reach the model in no
fixed order (the other calls skip it; an answer without it goes to any call). Every prompt it
receives is kept in `calls`, so tests can assert on what a node told the model. Stop strings
are honoured as llama.cpp does: a tool call's JSON ends before the first one, left open.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from agent_graph.llm import StopWhen

Script = list[dict[str, Any]] | dict[str, list[dict[str, Any]]]
PUSH = "__pregel_push"  # how LangGraph's metadata names a task a `Send` started


class ScriptExhaustedError(RuntimeError):
    """The model was called more often than the script planned."""


class ScriptedChatModel(BaseChatModel):
    """Replays planned answers; supports `bind_tools` with a forced `tool_choice`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: Any = Field(default_factory=list)
    repeat_last: bool = False  # keep answering with a tool's last answer once its list runs out
    _taken: dict[str, set[int]] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    calls: list[dict[str, Any]] = Field(default_factory=list)
    checks_stop_when: ClassVar[bool] = True  # see `llm.StopWhen`

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _next_answer(self, tool: str | None, sample: int | None) -> dict[str, Any]:
        """The first answer not yet given that is for this call: untagged, or tagged with its `sample`."""
        with self._lock:
            if isinstance(self.script, dict):
                key = tool or "content"
                answers = self.script.get(key) or []
            else:
                key, answers = "*", self.script
            taken = self._taken.setdefault(key, set())
            for position, answer in enumerate(answers):
                if position not in taken and answer.get("sample") in (None, sample):
                    taken.add(position)
                    return answer
            if self.repeat_last and answers:
                return answers[-1]
            raise ScriptExhaustedError(f"the script has no answer left for {key!r} (call {len(taken) + 1}).")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tool_choice = kwargs.get("tool_choice")
        tool = None
        if isinstance(tool_choice, dict):
            tool = tool_choice.get("function", {}).get("name")
        elif isinstance(tool_choice, str) and tool_choice not in ("any", "auto", "required", "none"):
            tool = tool_choice
        sample = _sample_of(run_manager)
        answer = self._next_answer(tool, sample)
        if answer.get("delay"):
            time.sleep(float(answer["delay"]))
        self.calls.append(
            {
                "tool": tool,
                "messages": [m.content for m in messages],
                "temperature": kwargs.get("temperature"),
                "sample": sample,
            }
        )
        prompt_tokens = sum(len(str(m.content)) for m in messages) // 4
        if "args" in answer:
            name = answer.get("name", tool or "tool")
            arguments = json.dumps(answer["args"])
            completion = len(arguments) // 4
            cut = _first_stop(arguments, stop, kwargs.get("stop_when"))
            if cut is None:
                message = AIMessage(
                    content="",
                    tool_calls=[{"name": name, "args": answer["args"], "id": f"call_{len(self.calls)}"}],
                )
            else:  # like llama.cpp: the answer ends before the stop, its JSON left open
                completion = cut // 4
                message = AIMessage(
                    content="",
                    invalid_tool_calls=[
                        {
                            "name": name,
                            "args": arguments[:cut],
                            "id": f"call_{len(self.calls)}",
                            "error": "stop",
                        }
                    ],
                )
        else:
            completion = len(str(answer.get("content", ""))) // 4
            message = AIMessage(content=str(answer.get("content", "")))
        message.usage_metadata = {
            "input_tokens": prompt_tokens,
            "output_tokens": completion,
            "total_tokens": prompt_tokens + completion,
        }
        return ChatResult(generations=[ChatGeneration(message=message)])

    def prompts_for(self, tool: str) -> list[str]:
        """Every prompt text sent with `tool` forced, joined per call (for assertions)."""
        return [
            "\n".join(str(part) for part in call["messages"]) for call in self.calls if call["tool"] == tool
        ]


def _sample_of(run_manager: CallbackManagerForLLMRun | None) -> int | None:
    """Which of the graph's side-by-side tasks (`Send`s, numbered from 1) made this call, if any:
    LangGraph puts the task's path in the metadata every call inside it carries."""
    path = run_manager.metadata.get("langgraph_path") if run_manager is not None else None
    if isinstance(path, tuple | list) and len(path) > 1 and path[0] == PUSH and isinstance(path[1], int):
        return path[1] + 1
    return None


def _first_stop(text: str, stop: list[str] | None, stop_when: StopWhen | None = None) -> int | None:
    """Where the answer `text` ends early: where the first of the `stop` strings begins, or after
    the shortest part of it `stop_when` is true of; None if it runs to its end."""
    found = [text.find(s) for s in stop or [] if s in text]
    if stop_when is not None:
        found += [next((end for end in range(1, len(text) + 1) if stop_when(text[:end])), len(text))]
    found = [end for end in found if end < len(text)]
    return min(found) if found else None


def load_script(path: Path) -> ScriptedChatModel:
    """Build a scripted model from a JSON file (the `scripted:/path.json` model spec)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "script" in data:
        return ScriptedChatModel(script=data["script"], repeat_last=bool(data.get("repeat_last", False)))
    return ScriptedChatModel(script=data)
