"""Measurements of InboxQL on its local stack (run as `uv run python -m bench.<name>`)."""
