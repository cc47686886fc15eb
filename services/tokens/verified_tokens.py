"""Tokens already verified, remembered until they expire.

Verifying a JWT costs ~50 µs of CPU (PyJWT: header, signature, claims), a fifth of a small
request answered from the response cache, and a client sends the same token with every request.
A remembered token is accepted until its `exp` plus the leeway, exactly as long as verifying it
again would accept it. As with any stateless bearer token, a key removed from the JWKS does not
revoke tokens already issued with it: revocation needs short token lifetimes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

import jwt

from services.domain import UserId
from services.ports import TokenVerifier
from services.tokens.verifiers import is_numeric_date

DEFAULT_MAX_TOKENS = 10_000


class NoNumericExpiry(Exception):
    """The token has an `exp` that is not a JSON number: it cannot be remembered until then."""


def token_expiry(token: str) -> float | None:
    """The `exp` of a token that has already been verified (its signature is not checked again
    here), or None when it has none."""
    claims = jwt.decode(token, options={"verify_signature": False})
    if "exp" not in claims:
        return None
    expiry = claims["exp"]
    if not is_numeric_date(expiry):
        # The verifiers refuse these; a verifier that did not must not make it last forever.
        raise NoNumericExpiry
    return float(expiry)


class VerifiedTokens:
    """A TokenVerifier in front of another, remembering up to `max_tokens` accepted tokens
    (least recently used go first). Refused tokens are never remembered."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        leeway_seconds: float,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._leeway = leeway_seconds
        self._max_tokens = max_tokens
        self._clock = clock
        # token -> (user id, last moment it is accepted; None: no exp)
        self._accepted: OrderedDict[str, tuple[UserId, float | None]] = OrderedDict()

    async def prepare(self, token: str) -> None:
        if token not in self._accepted:
            await self._verifier.prepare(token)

    def verify(self, token: str) -> UserId:
        remembered = self._accepted.get(token)
        if remembered is not None:
            user_id, until = remembered
            if until is None or self._clock() <= until:
                self._accepted.move_to_end(token)
                return user_id
            del self._accepted[token]
        user_id = self._verifier.verify(token)  # raises Unauthenticated: nothing remembered
        try:
            expiry = token_expiry(token)
        except NoNumericExpiry:
            return user_id
        self._accepted[token] = (user_id, None if expiry is None else expiry + self._leeway)
        while len(self._accepted) > self._max_tokens:
            self._accepted.popitem(last=False)
        return user_id
