"""The graph's nodes, one module each: plan (planner), write_code (coder), safety, write_tests (tester), select, run_tests, reflect (reflector), finish."""
