"""How often the coder's answer stops mid-statement, and how often asking again gives a whole file.

    .venv/bin/python bench/cut_off_rate.py --suite SUITE.jsonl --model llamacpp:PATH.gguf \
        [--limit 12] [--samples 3] [--temperature 0.8]

For each of the first problems it asks the coder (its system prompt and guidance, the goal, a
forced write_file call) for several files at the sampling temperature, counts the answers that stop
mid-statement (`cut_off_line`: an unescaped double quote ends the tool call's string), and asks each
of those once more with the reason, as the coder node does, counting the retries that are whole.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent_graph.bench import goal_for, load_suite, module_name
from agent_graph.context import Context
from agent_graph.llm import ModelOutputError, call_structured
from agent_graph.models import get_chat_model
from agent_graph.prompts import CODER_SYSTEM, LANGUAGE_GUIDANCE, PROFILE_GUIDANCE
from agent_graph.repairs.python import cut_off_feedback, cut_off_line
from agent_graph.roles import strip_fences
from agent_graph.tools import write_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=0.8)
    args = parser.parse_args()
    context = Context(model=args.model)
    model = get_chat_model(context.model, context)
    system = f"{CODER_SYSTEM}\n{LANGUAGE_GUIDANCE['python']}\n{PROFILE_GUIDANCE['library']}"
    answers = cut = whole_again = 0
    for problem in load_suite(args.suite, limit=args.limit):
        path = f"{module_name(problem)}.py"
        request = f"Goal:\n{goal_for(problem)}\n\nWrite the complete file `{path}`. Call write_file with path `{path}`."
        for _ in range(args.samples):
            messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(request)]
            try:
                call, _ = call_structured(model, write_file, messages, temperature=args.temperature)
            except ModelOutputError:
                continue
            answers += 1
            line = cut_off_line(strip_fences(call.content))
            if line is None:
                continue
            cut += 1
            messages.append(HumanMessage(cut_off_feedback(path, line)))
            try:
                again, _ = call_structured(model, write_file, messages, temperature=args.temperature)
            except ModelOutputError:
                continue
            whole = cut_off_line(strip_fences(again.content)) is None
            whole_again += whole
            print(f"{problem.task_id}: cut at `{line}`; asked again: {'whole' if whole else 'cut again'}")
    print(
        f"\n{answers} answers at temperature {args.temperature}: {cut} cut off mid-statement; {whole_again} of those whole when asked again"
    )


if __name__ == "__main__":
    main()
