"""The coder's and tester's file tools, as schemas for forced tool calls, and their execution."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent_graph.workspace import PathRefusedError, Workspace


class write_file(BaseModel):  # noqa: N801 - the tool name the model sees
    """Write a complete file into the task's workspace (creating or replacing it)."""

    path: str = Field(description="Path relative to the workspace.")
    content: str = Field(description="The complete file content.")


class read_file(BaseModel):  # noqa: N801
    """Read a file from the task's workspace."""

    path: str = Field(description="Path relative to the workspace.")


class list_files(BaseModel):  # noqa: N801
    """List the files in the task's workspace."""


FILE_TOOLS: list[type[BaseModel]] = [write_file, read_file, list_files]


def run_file_tool(workspace: Workspace, name: str, args: dict[str, object]) -> str:
    """Execute one file tool call; a refused path becomes an error message, not an exception."""
    try:
        if name == "write_file":
            call = write_file.model_validate(args)
            return workspace.write(call.path, call.content)
        if name == "read_file":
            return workspace.read(read_file.model_validate(args).path)
        if name == "list_files":
            return "\n".join(workspace.list()) or "(empty)"
    except PathRefusedError as exc:
        return f"error: {exc}"
    return f"error: unknown tool {name!r}"
