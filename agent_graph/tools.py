"""The coder's and tester's file tools, as schemas for forced tool calls, and their execution."""

from __future__ import annotations

from typing import Literal

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
# The names a model sees as tools: echoed into a file (a call, an import from `tools`), they are never
# part of the program (repairs/python.py, languages/node.py drop them).
TOOL_NAMES = frozenset(tool.__name__ for tool in FILE_TOOLS)


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


class file_action(BaseModel):  # noqa: N801 - the tool name the model sees
    """One step on the source files: list them, read one, write one whole, replace text in one, or finish."""

    action: Literal["list", "read", "write", "edit", "done"] = Field(
        description="list: the files; read: show `path`; write: replace `path` with `content`; "
        "edit: replace the text `old` in `path` by `new`; done: the fix is complete."
    )
    path: str = Field(default="", description="Path relative to the workspace (read, write, edit).")
    content: str = Field(default="", description="The complete new file (write).")
    old: str = Field(default="", description="Exact text to replace, copied from the file (edit).")
    new: str = Field(default="", description="The text that replaces it (edit).")


def apply_file_action(files: dict[str, str], call: file_action, writable: set[str]) -> str:
    """Carry out one `file_action` on the version's files (in memory: versions are written in
    parallel, so none of them touches the workspace); the result is what the model reads next.
    Only the `writable` paths (the plan's source files) may change: the coder never edits tests."""
    if call.action == "list":
        return "\n".join(sorted(files)) or "(no files yet)"
    if call.action == "done":
        return "done"
    if call.path not in files and call.action in ("read", "edit"):
        return f"error: there is no file {call.path!r}; the files are: {', '.join(sorted(files))}."
    if call.action == "read":
        return files[call.path]
    if call.path not in writable:
        return f"error: {call.path!r} is not yours to change; you may change: {', '.join(sorted(writable))}."
    if call.action == "write":
        if not call.content.strip():
            return "error: write needs the complete file in `content`."
        files[call.path] = call.content
        return f"wrote {call.path} ({len(call.content)} characters)"
    count = files[call.path].count(call.old) if call.old else 0
    if count != 1:
        found = "is not in" if count == 0 else f"occurs {count} times in"
        return f"error: the `old` text {found} {call.path}; copy one exact, unique passage (read the file first)."
    files[call.path] = files[call.path].replace(call.old, call.new, 1)
    return f"edited {call.path}"
