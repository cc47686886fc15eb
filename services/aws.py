"""How InboxQL talks to AWS: one session, one client config (timeouts, standard retries)."""

from __future__ import annotations

from dataclasses import dataclass

import aioboto3
from aiobotocore.config import AioConfig

from services.settings import Settings


@dataclass(frozen=True)
class AwsEndpoints:
    """Explicit endpoints for the local stack. In external mode both are None and botocore
    finds endpoints (and credentials) the standard way, AWS_ENDPOINT_URL_* included."""

    dynamodb: str | None = None
    sqs: str | None = None


LOCAL_CREDENTIALS = {"aws_access_key_id": "inboxql", "aws_secret_access_key": "inboxql"}


def client_config(settings: Settings) -> AioConfig:
    return AioConfig(
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        # botocore's `max_attempts` counts retries only (3 means 4 calls); the setting means
        # every call made, the first included, as AWS_MAX_ATTEMPTS does.
        retries={"mode": "standard", "total_max_attempts": settings.aws_max_attempts},
        max_pool_connections=64,
    )


def aws_session(settings: Settings, endpoints: AwsEndpoints) -> aioboto3.Session:
    if endpoints.dynamodb or endpoints.sqs:
        return aioboto3.Session(region_name=settings.aws_region, **LOCAL_CREDENTIALS)
    return aioboto3.Session(region_name=settings.aws_region)
