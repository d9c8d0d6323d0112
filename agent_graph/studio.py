"""The graph that LangGraph's server (`langgraph dev`, and so Studio) loads from `langgraph.json`.

It is the library's graph with one difference: its `Context` defaults are read from the settings
file (`AGENT_GRAPH_CONFIG`, else `./config/settings.yaml`) and the `AGENT_GRAPH_<FIELD>`
variables when the server starts, as the CLI reads them; what Studio sets for a run still wins.
A settings file with a mistake stops the server with the same one-sentence error as the CLI.
"""

from __future__ import annotations

from agent_graph.context import context_with_settings_defaults
from agent_graph.workflow import build

StudioContext = context_with_settings_defaults("StudioContext", __name__)

graph = build(StudioContext).compile(name="agent-graph")
