"""Metrics, log formats and request ids."""
