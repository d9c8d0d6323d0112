"""Deterministic repairs of files a small model got almost right (cut-off answers, tests pasted into
source files, parametrize rows to set aside)."""
