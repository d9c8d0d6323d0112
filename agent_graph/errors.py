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
