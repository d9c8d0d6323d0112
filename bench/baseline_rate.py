"""The baseline's pass@1 estimated from several answers per problem, to set one bench run's baseline in context.

    .venv/bin/python bench/baseline_rate.py --suite SUITE.jsonl --model llamacpp:PATH.gguf \
        [--limit 40] [--samples 4] [--shard K/N] [--results OUT.jsonl ...]

A bench run's baseline is one answer per problem, sampled at the usual temperature: on 40 problems
it moves by a few problems from run to run. This asks the model once per sample exactly as the
bench's `--baseline` does (`agent_graph.bench.baseline`), grades every answer by the hidden test in
the sandbox, and prints each problem's pass count and the mean pass rate (the usual pass@1
estimate from n samples); `agent-graph bench --baseline-samples N` does the same inside a bench run,
beside the agent. With `--results`, it also prints that run's agent and baseline totals on
the same problems.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from agent_graph.bench import baseline, grade, load_results, load_suite, shard
from agent_graph.context import Context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--shard", default="1/1")
    parser.add_argument("--results", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    context = Context(model=args.model)
    problems = shard(load_suite(args.suite, limit=args.limit), args.shard)
    services = context.services
    sandbox = services.sandbox("baseline-rate")
    rates: dict[str, float] = {}
    try:
        for problem in problems:
            passes = 0
            for sample in range(args.samples):
                with tempfile.TemporaryDirectory(prefix="agent-graph-baseline-") as folder:
                    workspace = Path(folder) / f"sample-{sample}"
                    baseline(problem, context, workspace)
                    passes += grade(sandbox, problem, workspace).passed
            rates[problem.task_id] = passes / args.samples
            print(f"{problem.task_id}: {passes}/{args.samples}", flush=True)
    finally:
        services.release("baseline-rate")
    print(
        f"\n{len(rates)} problems, {args.samples} answers each: baseline pass@1 "
        f"{sum(rates.values()) / max(1, len(rates)):.3f} ({sum(rates.values()):.2f} problems)"
    )
    rows = [row for path in args.results for row in load_results(path) if row["task_id"] in rates]
    if rows:
        print(
            f"the run's rows on these {len(rows)} problems: agent {sum(bool(r['agent_passed']) for r in rows)}, "
            f"baseline {sum(bool(r.get('baseline_passed')) for r in rows)}; mean rate here "
            f"{sum(rates[r['task_id']] for r in rows):.2f}"
        )


if __name__ == "__main__":
    main()
