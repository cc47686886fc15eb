"""The demo chat client served at `/` (local mode, or INBOXQL_DEMO=true)."""
