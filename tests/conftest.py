"""Shared fixtures: a real embedded Postgres (pgvector) for the session, a data dir per test.

Nothing here is faked: the database, checkpointer, sandbox and embeddings are the real ones.
Only the chat model may be scripted (agent_graph.testing.ScriptedChatModel).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

# No test may reach outside addresses: switch off telemetry and hub lookups for everything.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
os.environ.setdefault("LANGGRAPH_NO_VERSION_CHECK", "true")
# A scripted model replays one coder answer per version: runs started through the CLI or the Studio
# server write one version per iteration, unless a test asks for more (the e2e tests remove these,
# so the real model runs with the project's settings). In-process tests say `first_samples=1`.
os.environ.setdefault("AGENT_GRAPH_FIRST_SAMPLES", "1")
os.environ.setdefault("AGENT_GRAPH_SAMPLES_PER_ITERATION", "1")
# A test run stopped from outside (`timeout`, a CI job cancelled) gets SIGTERM, which would end the
# process without teardown and leave the session's Postgres running. As an interrupt, it unwinds
# the fixtures like Ctrl-C does.
signal.signal(signal.SIGTERM, signal.default_int_handler)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A throwaway embedded Postgres 16 with pgvector, shared by the session's tests.

    As root, pgserver opens the permissions of the data dir's parent folders, so it lives in a
    fresh folder under /var/tmp rather than under pytest's tmp_path.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgserver's import-time runtime-dir warning
        import pgserver

    root = Path(tempfile.mkdtemp(prefix="agent-graph-test-pg-", dir="/var/tmp"))
    server = pgserver.get_server(root / "pgdata", cleanup_mode="stop")
    url = str(server.get_uri())
    from agent_graph.checkpoints.database import connection
    from agent_graph.checkpoints.migrations import migrate

    with connection(url) as conn:
        migrate(conn)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    yield url
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def agent_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data dir (workspaces, logs) for one test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("AGENT_GRAPH_HOME", str(home))
    return home
