"""The database: embedded Postgres or `DATABASE_URL`, schema migrations, the LangGraph checkpointer."""
