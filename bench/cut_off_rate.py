"""How often the coder's first file stops mid-statement, under each decoding of its tool call.

    .venv/bin/python bench/cut_off_rate.py --suite SUITE.jsonl --model llamacpp:PATH.gguf \
        [--limit 10] [--samples 2] [--temperature 0.8] [--strict]

For each of the first rows of a suite it asks the coder (its system prompt for the row's language
and profile, the goal, a forced write_file call for the entry file) for several files, and counts
the answers that stop mid-statement (the language's `cut_off_line`) and where. `--strict` decodes
the call under the grammar llama-cpp-python builds from the tool's JSON schema, in which a bare
`"` ends the file's string; without it, the local model uses `code_arguments`' grammar.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from unittest import mock

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent_graph import llamacpp
from agent_graph.bench import goal_for, load_suite, main_file, module_name
from agent_graph.context import Context
from agent_graph.languages import adapter_for
from agent_graph.llm import ModelOutputError, call_structured
from agent_graph.models import get_chat_model
from agent_graph.prompts import CODER_SYSTEM
from agent_graph.prompts.render import coder_request, coder_system
from agent_graph.roles import strip_fences
from agent_graph.state import AgentState
from agent_graph.tools import write_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--max-tokens", type=int, default=1536)
    parser.add_argument(
        "--strict", action="store_true", help="the schema's own grammar (bare quotes end strings)"
    )
    args = parser.parse_args()
    context = Context(model=args.model)
    model = get_chat_model(context.model, context)
    answers = cut = 0
    with (
        mock.patch.object(llamacpp, "_forced_code_tool", return_value=None)
        if args.strict
        else contextlib.nullcontext()
    ):
        for problem in load_suite(args.suite, limit=args.limit):
            adapter = adapter_for(problem.language)
            path = (
                main_file(problem) if problem.is_program else f"{module_name(problem)}{adapter.source_suffix}"
            )
            state: AgentState = {
                "task": goal_for(problem),
                "language": problem.language,
                "profile": problem.profile,
                "plan": {"files": [{"path": path, "purpose": "the program"}]},
            }
            system = coder_system(state, CODER_SYSTEM)
            request = coder_request(state, {}, path, "the program", with_feedback=False)
            for _ in range(args.samples):
                messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(request)]
                try:
                    call, used = call_structured(
                        model, write_file, messages, temperature=args.temperature, max_tokens=args.max_tokens
                    )
                except ModelOutputError as error:
                    print(f"{problem.task_id}: no usable call ({error})")
                    continue
                answers += 1
                content = strip_fences(call.content)
                line = adapter.cut_off_line(content)
                cut += line is not None
                where = f"cut at `{line}`" if line is not None else "whole"
                print(
                    f"{problem.task_id}: {len(content.splitlines())} lines, {used.output_tokens} tokens, {where}"
                )
    decoding = "strict JSON" if args.strict else "code_arguments"
    print(f"\n{answers} answers ({decoding}, temperature {args.temperature}): {cut} cut off mid-statement")


if __name__ == "__main__":
    main()
