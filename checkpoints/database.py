"""Find or start the database and connect to it.

`DATABASE_URL` names a server the user runs (e.g. the `pgvector/pgvector:pg16` service in
docker-compose.yml). Without it, an embedded PostgreSQL 16 with pgvector (the `pgserver`
package) is started on demand in the data dir; it keeps running while any process uses it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from agent_graph.errors import ServiceUnavailableError, UserInputError
from agent_graph.paths import data_dir

Connection = psycopg.Connection[dict[str, Any]]

_embedded_servers: dict[Path, Any] = {}


def embedded_data_dir() -> Path:
    return data_dir() / "postgres"


def start_embedded(pgdata: Path | None = None) -> str:
    """Start (or join) the embedded Postgres and return its connection URL."""
    pgdata = pgdata or embedded_data_dir()
    server = _embedded_servers.get(pgdata)
    if server is None:
        try:
            with warnings.catch_warnings():
                # pgserver asks platformdirs for a runtime dir at import, which warns when
                # XDG_RUNTIME_DIR is unset (as on servers); the fallback it takes is fine.
                warnings.simplefilter("ignore")
                import pgserver
        except ImportError:  # pragma: no cover - a dependency of the package
            raise ServiceUnavailableError(
                "the embedded database needs the pgserver package; reinstall agent-graph or set DATABASE_URL."
            ) from None
        pgdata.mkdir(parents=True, exist_ok=True)
        try:
            server = pgserver.get_server(pgdata)
        except Exception as exc:  # pgserver raises plain exceptions from pg_ctl
            raise ServiceUnavailableError(
                f"the embedded database in {pgdata} did not start ({_first_line(exc)}); "
                "check its log there or set DATABASE_URL."
            ) from None
        _embedded_servers[pgdata] = server
    return str(server.get_uri())


def database_url() -> str:
    """The URL in use: `DATABASE_URL` if set, else the embedded server's."""
    return os.environ.get("DATABASE_URL") or start_embedded()


def connect(url: str | None = None) -> Connection:
    """Open an autocommit connection with dict rows, or raise one clear sentence."""
    url = url or database_url()
    if not url.startswith(("postgresql://", "postgres://")) and "=" not in url:
        raise UserInputError(f"DATABASE_URL {redact(url)!r} is not a postgresql:// URL; fix it or unset it.")
    try:
        return psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=5)
    except psycopg.ProgrammingError as exc:
        raise UserInputError(
            f"DATABASE_URL {redact(url)!r} is malformed ({_first_line(exc)}); fix it."
        ) from None
    except psycopg.OperationalError as exc:
        raise ServiceUnavailableError(
            f"cannot reach the database at {redact(url)} ({_first_line(exc)}); start it or unset DATABASE_URL "
            "to use the embedded one."
        ) from None


@contextmanager
def connection(url: str | None = None) -> Iterator[Connection]:
    conn = connect(url)
    try:
        yield conn
    finally:
        conn.close()


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return url.split("@")[-1]
    if "password" in info:
        info["password"] = "***"
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__
