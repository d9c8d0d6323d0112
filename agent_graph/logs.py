"""Structured JSON logs: one object a line, for machines (jq, Loki, Elasticsearch) rather than eyes.

Each line has the same keys: timestamp (UTC, ISO 8601 with Z), level, task_id, iteration, phase,
event and data. The file rotates by size. Values that look like credentials are masked before they
are written, whatever field they are in: a log is often shared, a key in it is a leak.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from agent_graph.paths import data_dir

LOGGER_NAME = "agent_graph.events"
REDACTED = "[redacted]"

# Keys whose values are secrets whatever they hold ("tokens", the counts, is not one of them).
_SECRET_KEY = re.compile(r"(api[_-]?key|secret|password|passwd|authorization|access[_-]?token|^token$)", re.I)
# Secret-looking values: OpenAI/Anthropic style keys, bearer tokens, passwords in URLs.
_SECRET_VALUE = re.compile(
    r"(sk-[A-Za-z0-9_-]{12,}|Bearer\s+[A-Za-z0-9._~+/=-]{12,}|(?<=://)[^/@\s:]+:[^/@\s]+(?=@))"
)


# What every line is, as a JSON Schema (draft 2020-12): for consumers of the log, and checked in the tests.
LOG_LINE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["timestamp", "level", "task_id", "iteration", "phase", "event", "data"],
    "additionalProperties": False,
    "properties": {
        "timestamp": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"},
        "level": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]},
        "task_id": {"type": ["string", "null"]},
        "iteration": {"type": ["integer", "null"], "minimum": 0},
        "phase": {"type": ["string", "null"]},
        "event": {"type": "string", "minLength": 1},
        "data": {"type": "object"},
    },
}


def log_path(configured: str = "") -> Path:
    """The log file: the configured one, else `<data dir>/logs/agent.log`."""
    return Path(configured).expanduser() if configured else data_dir() / "logs" / "agent.log"


def redact(value: Any) -> Any:
    """A copy of `value` with secret-looking strings and secret-named keys masked."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


class JsonLineFormatter(logging.Formatter):
    """Formats a record made by `EventLog` (or any logger call) as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = {
            "timestamp": stamp.replace("+00:00", "Z"),
            "level": record.levelname,
            "task_id": getattr(record, "task_id", None),
            "iteration": getattr(record, "iteration", None),
            "phase": getattr(record, "phase", None),
            "event": getattr(record, "event", None) or record.getMessage(),
            "data": redact(getattr(record, "data", {})),
        }
        return json.dumps(line, default=str, ensure_ascii=False)


def open_logger(path: Path, max_bytes: int, backup_count: int) -> logging.Logger:
    """The events logger writing to `path`; asking again for the same file reuses its handler."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # never mixed into the terminal's output
    target = str(path.resolve())
    for handler in list(logger.handlers):
        if isinstance(handler, RotatingFileHandler) and handler.baseFilename == target:
            return logger
        logger.removeHandler(handler)
        handler.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
    handler.setFormatter(JsonLineFormatter())
    logger.addHandler(handler)
    return logger


class EventLog:
    """An observer of a run that writes each progress event as a JSON log line.

    It remembers the current iteration and phase, so every line carries them, including the
    events that do not name them.
    """

    def __init__(self, logger: logging.Logger, task_id: str) -> None:
        self.logger = logger
        self.task_id = task_id
        self.iteration: int | None = None
        self.phase: str | None = None

    def write(self, event: str, level: int = logging.INFO, **data: Any) -> None:
        self.logger.log(
            level,
            event,
            extra={
                "task_id": self.task_id,
                "iteration": self.iteration,
                "phase": self.phase,
                "event": event,
                "data": data,
            },
        )

    def on_update(self, node: str, update: dict[str, Any]) -> None:
        if node == "plan" and update.get("plan"):
            plan = update["plan"]
            self.write(
                "plan_created",
                subtasks=len(plan.get("subtasks", [])),
                files=[f.get("path") for f in plan.get("files", [])],
            )
        elif node == "select" and update.get("files"):
            self.write("code_written", files=sorted(update["files"]))

    def on_event(self, event: dict[str, Any]) -> None:
        kind = str(event.get("event", ""))
        data = {k: v for k, v in event.items() if k not in ("event", "iteration", "phase")}
        if event.get("iteration"):
            self.iteration = int(event["iteration"])
        if kind == "phase":
            self.phase = str(event.get("phase"))
            self.write("phase_started")
        elif kind == "tests":
            self.write("test_execution_complete", **data)
        elif kind in (
            "safety_blocked",
            "circuit_breaker_warning",
            "tests_quarantined",
            "tests_dropped",
        ):
            self.write(kind, logging.WARNING, **data)
        elif kind:
            self.write(kind, **data)
