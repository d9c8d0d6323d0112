"""The graph's nodes: planner, coder, safety, tester, reflector, finish — one module each."""
