"""The demo inbox web client served at `/` (local mode, or INBOXQL_DEMO=true)."""
