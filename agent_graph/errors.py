"""Errors that reach the user as one clear sentence and an exit code, never a traceback."""

from __future__ import annotations


class AgentGraphError(Exception):
    """Base class: the message is one sentence saying what was wrong and what to do."""

    exit_code = 1


class UserInputError(AgentGraphError):
    """Bad input or configuration (exit code 2)."""

    exit_code = 2


class ServiceUnavailableError(AgentGraphError):
    """A needed service — database, sandbox or model — cannot be reached (exit code 3)."""

    exit_code = 3


class TerminatedError(BaseException):
    """SIGTERM (`kill`, `timeout`, a service manager stopping us). Like Ctrl-C, the running task is
    marked interrupted and can be resumed. A BaseException, as KeyboardInterrupt is, so no
    `except Exception` on the way swallows it; not a KeyboardInterrupt, which the CLI framework
    would turn into a silent exit code."""
