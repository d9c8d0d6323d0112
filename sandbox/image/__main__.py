"""`python -m agent_graph.sandbox.image`: build the sandbox root filesystem and Docker image."""

from agent_graph.sandbox.image import main

raise SystemExit(main())
