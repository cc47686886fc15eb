"""Who is calling: a JWT bearer token whose `sub` is the user id.

HS256 with a shared secret today; `TokenVerifier` is the seam where RS256/JWKS will plug in.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Protocol

import jwt

from services.domain import UserId, is_user_id
from services.errors import Unauthenticated

ALGORITHM = "HS256"
SECRET_FILE = "jwt-secret"


class TokenVerifier(Protocol):
    def verify(self, token: str) -> UserId: ...


class HmacTokenVerifier:
    def __init__(self, secret: str, *, leeway_seconds: int = 30) -> None:
        self._secret = secret
        self._leeway = leeway_seconds

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
        subject = claims.get("sub")
        if not isinstance(subject, str) or not is_user_id(subject):
            raise Unauthenticated("token subject is not a valid user id")
        return UserId(subject)

    def issue(self, user_id: UserId, *, ttl_seconds: int | None = 30 * 24 * 3600) -> str:
        claims: dict[str, object] = {"sub": user_id, "iat": int(time.time())}
        if ttl_seconds is not None:
            claims["exp"] = int(time.time()) + ttl_seconds
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)


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
