"""The one error of the cost model's inputs."""

from __future__ import annotations


class CostModelError(ValueError):
    """A price table or profile that lacks what the model needs."""
