"""Apollo's automatic persisted queries: a request may carry a document's SHA-256 hash instead of
the document, once the document has been registered under it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from resolvers.context import Context
from schema.transport.http_responses import RequestRefused
from schema.transport.request_body import GraphQLParams
from services.app import App
from services.errors import RateLimited
from services.redis.persisted_queries import (
    MAX_DOCUMENT_BYTES,
    SUPPORTED_VERSION,
    document_hash,
    is_sha256_hex,
)

log = logging.getLogger("inboxql.persisted_queries")

PERSISTED_QUERY_NOT_FOUND = "PersistedQueryNotFound"


@dataclass(frozen=True, slots=True)
class Document:
    query: str
    # Sent with its hash to be registered: kept once it has run (see `register`).
    registering: bool


async def resolve_document(app: App, params: GraphQLParams) -> Document:
    """The document to run: the request's own, or the one registered under its hash."""
    persisted = (params.extensions or {}).get("persistedQuery")
    if persisted is None:
        if params.query is None:
            raise RequestRefused(400, "the request has no `query`")
        return Document(params.query, registering=False)
    if not isinstance(persisted, dict):
        raise RequestRefused(400, "`extensions.persistedQuery` must be an object")
    version = persisted.get("version")
    if type(version) is not int or version != SUPPORTED_VERSION:
        raise RequestRefused(400, "Unsupported persisted query version")
    sha256_hash = persisted.get("sha256Hash")
    if not isinstance(sha256_hash, str) or not is_sha256_hex(sha256_hash.lower()):
        raise RequestRefused(400, "`sha256Hash` must be a SHA-256 digest in hex")
    sha256_hash = sha256_hash.lower()
    if params.query is None:
        stored = await app.persisted_queries.get(sha256_hash)
        if stored is None:
            # Apollo answers 200, which APQ clients expect in application/json; in
            # application/graphql-response+json a response without `data` must be 4xx.
            raise RequestRefused(
                404,
                PERSISTED_QUERY_NOT_FOUND,
                code="PERSISTED_QUERY_NOT_FOUND",
                legacy_status=200,
            )
        return Document(stored, registering=False)
    if document_hash(params.query) != sha256_hash:
        raise RequestRefused(400, "provided sha does not match query")
    if len(params.query.encode()) > MAX_DOCUMENT_BYTES:
        raise RequestRefused(400, f"a persisted query is at most {MAX_DOCUMENT_BYTES} bytes long")
    return Document(params.query, registering=True)


async def register(app: App, document: Document, result: ExecutionResult, context: Context) -> None:
    # Only documents that parsed and validated, sent by an authenticated client, are kept:
    # anonymous clients cannot fill the store.
    if (
        document.registering
        and not isinstance(result, PreExecutionError)
        and context.user_id is not None
    ):
        quota = app.built.registration_quota
        try:
            if quota is not None:
                await quota.admit(context.user_id)
        except RateLimited:
            # Over the quota the operation has still run and answered: only storing is refused,
            # so the client's next hash-only request is PersistedQueryNotFound and it sends the
            # document again, which is what a client without APQ does anyway.
            log.warning(
                "persisted query not stored: %s is over the registration quota", context.user_id
            )
            return
        await app.persisted_queries.put(document_hash(document.query), document.query)
