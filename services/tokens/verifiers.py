"""Who is calling: a JWT bearer token whose `sub` is the user id.

Two kinds of tokens: HS256 ones signed with our shared secret (local mode, tests, services of
our own), and RS256/ES256 ones from an identity provider (Cognito or any OIDC provider) whose
public keys come from its JWKS URL. The token's header picks the verifier; each accepts only its
own algorithms, so a token cannot choose to be checked with the wrong kind of key (the
"HS256 signed with the public key" confusion).
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt

from services.domain import UserId, is_user_id
from services.errors import Unauthenticated
from services.ports import TokenVerifier
from services.settings import Settings
from services.tokens.jwks import ALGORITHMS, JwksKeys

ALGORITHM = "HS256"
SECRET_FILE = "jwt-secret"


class HmacTokenVerifier:
    def __init__(self, secret: str, *, leeway_seconds: int = 30) -> None:
        self._secret = secret
        self._leeway = leeway_seconds

    async def prepare(self, token: str) -> None:
        return None

    def verify(self, token: str) -> UserId:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                leeway=self._leeway,
                options={"require": ["sub"], "verify_exp": True},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("invalid token") from None
        _check_numeric_dates(claims)
        return _subject(claims)

    def issue(self, user_id: UserId, *, ttl_seconds: int | None = 30 * 24 * 3600) -> str:
        claims: dict[str, object] = {"sub": user_id, "iat": int(time.time())}
        if ttl_seconds is not None:
            claims["exp"] = int(time.time()) + ttl_seconds
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)


# RFC 7519 section 2: `exp`, `nbf` and `iat` are NumericDates, JSON numbers. PyJWT also takes
# numeric strings (and `true` as 1): a token whose `exp` is a string would then be remembered
# with no expiry at all (services/tokens/verified_tokens.py), so anything but a number is refused.
NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")


def is_numeric_date(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_numeric_dates(claims: Mapping[str, Any]) -> None:
    for name in NUMERIC_DATE_CLAIMS:
        if name in claims and not is_numeric_date(claims[name]):
            raise Unauthenticated(f"invalid token: `{name}` must be a number")


def _subject(claims: Mapping[str, Any]) -> UserId:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not is_user_id(subject):
        raise Unauthenticated("token subject is not a valid user id")
    return UserId(subject)


class JwksTokenVerifier:
    """RS256/ES256 tokens signed with one of an identity provider's published keys.

    `issuer` and `audience`, when set, must match. Cognito ID tokens carry the app client id in
    `aud`; its access tokens have no `aud` and carry it in `client_id`: either is accepted."""

    def __init__(
        self,
        keys: JwksKeys,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        leeway_seconds: int = 30,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    async def prepare(self, token: str) -> None:
        kid = _header(token).get("kid")
        if isinstance(kid, str):
            await self._keys.ensure_key(kid)

    def verify(self, token: str) -> UserId:
        kid = _header(token).get("kid")
        if not isinstance(kid, str):
            raise Unauthenticated("invalid token: no key id")
        key = self._keys.key(kid)
        if key is None:
            # Not fetched yet (a key rotated in since): fetched in the background, so that a
            # retry succeeds; `prepare` avoids even the one failure.
            self._keys.refresh_soon()
            raise Unauthenticated("invalid token: unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                # The key's own algorithm only, whatever the token's header claims.
                algorithms=[key.algorithm_name],
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["sub", "exp"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("invalid token") from None
        _check_numeric_dates(claims)
        if self._audience is not None and not _for_audience(claims, self._audience):
            raise Unauthenticated("invalid token: wrong audience")
        return _subject(claims)


def _for_audience(claims: Mapping[str, Any], audience: str) -> bool:
    aud = claims.get("aud")
    if aud is not None:
        return aud == audience or (isinstance(aud, list) and audience in aud)
    return claims.get("client_id") == audience


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated("invalid token") from None


class BearerTokenVerifier:
    """Dispatches on the token's `alg` to the verifier configured for it."""

    def __init__(
        self, *, hmac: HmacTokenVerifier | None = None, jwks: JwksTokenVerifier | None = None
    ) -> None:
        self._hmac = hmac
        self._jwks = jwks

    def _for(self, token: str) -> TokenVerifier:
        algorithm = _header(token).get("alg")
        if algorithm == ALGORITHM and self._hmac is not None:
            return self._hmac
        if algorithm in ALGORITHMS and self._jwks is not None:
            return self._jwks
        raise Unauthenticated("invalid token: unsupported algorithm")

    async def prepare(self, token: str) -> None:
        try:
            verifier = self._for(token)
        except Unauthenticated:
            return  # `verify` says why
        await verifier.prepare(token)

    def verify(self, token: str) -> UserId:
        return self._for(token).verify(token)


def hmac_tokens(settings: Settings) -> HmacTokenVerifier | None:
    """HS256 tokens: the configured secret, or the one local mode generates. None when tokens
    come only from an identity provider (JWKS): then this server issues none."""
    secret = settings.jwt_secret
    if secret is None and settings.stack == "local":
        secret = local_secret(settings.data_dir)
    if secret is None:
        return None
    return HmacTokenVerifier(secret, leeway_seconds=settings.jwt_leeway_seconds)


@contextlib.asynccontextmanager
async def token_verifier(settings: Settings) -> AsyncIterator[BearerTokenVerifier]:
    """The verifier the settings ask for, its JWKS (if any) fetched once before it is used."""
    hmac = hmac_tokens(settings)
    if settings.jwks_url is None:
        yield BearerTokenVerifier(hmac=hmac)
        return
    timeout = httpx.Timeout(settings.read_timeout_seconds, connect=settings.connect_timeout_seconds)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        keys = JwksKeys(
            client, settings.jwks_url, min_refresh_seconds=settings.jwks_min_refresh_seconds
        )
        await keys.refresh()
        jwks = JwksTokenVerifier(
            keys,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
        )
        yield BearerTokenVerifier(hmac=hmac, jwks=jwks)


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthenticated("missing Authorization: Bearer <token>")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    return token.strip()


def local_secret(data_dir: Path) -> str:
    """The local-mode secret, generated once and kept (0600) in the data dir."""
    path = data_dir / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written aside, then linked into place: a concurrent reader never sees a half-written file
    # and two starting processes agree on one secret.
    draft = data_dir / f".{SECRET_FILE}.{secrets.token_hex(4)}"
    draft.write_text(secrets.token_urlsafe(48))
    draft.chmod(0o600)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()
