"""Bearer tokens and the local-mode secret."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from services.errors import Unauthenticated
from services.settings import Settings
from services.tokens.jwks import signing_keys
from services.tokens.verifiers import (
    SECRET_FILE,
    BearerTokenVerifier,
    HmacTokenVerifier,
    bearer_token,
    hmac_tokens,
    local_secret,
)
from tests.unit.support import ALICE

SECRET = "unit-test-secret-with-more-than-thirty-two-bytes"
OTHER_SECRET = "another-secret-also-comfortably-longer-than-32-bytes"


def token(claims: dict[str, object], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def test_issued_token_verifies() -> None:
    verifier = HmacTokenVerifier(SECRET)
    assert verifier.verify(verifier.issue(ALICE)) == ALICE


def test_token_without_expiry_verifies() -> None:
    verifier = HmacTokenVerifier(SECRET)
    issued = verifier.issue(ALICE, ttl_seconds=None)
    assert "exp" not in jwt.decode(issued, SECRET, algorithms=["HS256"])
    assert verifier.verify(issued) == ALICE


def test_expired_token() -> None:
    verifier = HmacTokenVerifier(SECRET, leeway_seconds=30)
    expired = token({"sub": "alice", "exp": int(time.time()) - 3600})
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(expired)


def test_expiry_leeway() -> None:
    just_expired = token({"sub": "alice", "exp": int(time.time()) - 5})
    assert HmacTokenVerifier(SECRET, leeway_seconds=60).verify(just_expired) == ALICE
    with pytest.raises(Unauthenticated, match="expired"):
        HmacTokenVerifier(SECRET, leeway_seconds=0).verify(just_expired)


def test_issue_with_negative_ttl_is_expired() -> None:
    verifier = HmacTokenVerifier(SECRET, leeway_seconds=0)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(verifier.issue(ALICE, ttl_seconds=-60))


def test_wrong_secret() -> None:
    forged = HmacTokenVerifier(OTHER_SECRET).issue(ALICE)
    with pytest.raises(Unauthenticated, match="invalid token"):
        HmacTokenVerifier(SECRET).verify(forged)


def test_alg_none_is_refused() -> None:
    unsigned = jwt.encode({"sub": "alice"}, "", algorithm="none")
    with pytest.raises(Unauthenticated, match="invalid token"):
        HmacTokenVerifier(SECRET).verify(unsigned)


def test_other_algorithms_are_refused() -> None:
    with pytest.raises(Unauthenticated, match="invalid token"):
        HmacTokenVerifier(SECRET).verify(
            token({"sub": "alice"}, SECRET + SECRET, algorithm="HS512")
        )


def test_tampered_payload_is_refused() -> None:
    header, _, signature = HmacTokenVerifier(SECRET).issue(ALICE).split(".")
    other_payload = token({"sub": "mallory"}).split(".")[1]
    with pytest.raises(Unauthenticated, match="invalid token"):
        HmacTokenVerifier(SECRET).verify(f"{header}.{other_payload}.{signature}")


@pytest.mark.parametrize("raw", ["", "garbage", "a.b.c", "Bearer x"])
def test_garbage_tokens(raw: str) -> None:
    with pytest.raises(Unauthenticated):
        HmacTokenVerifier(SECRET).verify(raw)


def test_missing_sub() -> None:
    with pytest.raises(Unauthenticated):
        HmacTokenVerifier(SECRET).verify(token({"name": "alice"}))


@pytest.mark.parametrize("sub", ["", "a#b", "a" * 129, "has space"])
def test_sub_must_be_a_valid_user_id(sub: str) -> None:
    with pytest.raises(Unauthenticated):
        HmacTokenVerifier(SECRET).verify(token({"sub": sub}))


def test_sub_must_be_a_string() -> None:
    with pytest.raises(Unauthenticated):
        HmacTokenVerifier(SECRET).verify(token({"sub": 42}))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("  Bearer   abc  ", "abc"),
    ],
)
def test_bearer_token(header: str, expected: str) -> None:
    assert bearer_token(header) == expected


@pytest.mark.parametrize(
    "header", [None, "", "   ", "Bearer", "Bearer    ", "Basic abc", "Token abc", "abc"]
)
def test_bearer_token_refuses(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        bearer_token(header)


def test_local_secret_is_created_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    secret = local_secret(data_dir)
    path = data_dir / SECRET_FILE
    assert path.read_text().strip() == secret
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret(data_dir) == secret
    assert [p.name for p in data_dir.iterdir()] == [SECRET_FILE]  # no draft left behind
    # Usable as an HS256 key (no short-key warning: warnings are errors here).
    verifier = HmacTokenVerifier(secret)
    assert verifier.verify(verifier.issue(ALICE)) == ALICE


def test_local_secret_keeps_an_existing_one(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text(SECRET + "\n")
    assert local_secret(tmp_path) == SECRET


def test_local_secrets_differ_between_data_dirs(tmp_path: Path) -> None:
    assert local_secret(tmp_path / "a") != local_secret(tmp_path / "b")


def test_only_asymmetric_signature_keys_are_taken_from_a_jwks() -> None:
    rsa_jwk = RSAAlgorithm.to_jwk(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(), as_dict=True
    )
    ec_jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
    document = {
        "keys": [
            {**rsa_jwk, "kid": "rsa", "alg": "RS256"},
            {**ec_jwk, "kid": "ec"},  # no alg: ES256 from the curve
            {**rsa_jwk, "kid": "encryption", "use": "enc"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "shared-secret", "alg": "HS256"},
            {**rsa_jwk, "alg": "RS256"},  # no kid
            {"kty": "RSA", "kid": "broken"},
            "not a key",
        ]
    }
    keys = signing_keys(document)
    assert {kid: key.algorithm_name for kid, key in keys.items()} == {"rsa": "RS256", "ec": "ES256"}
    assert signing_keys({"keys": "nope"}) == {} and signing_keys([1]) == {}


def test_hs256_tokens_are_refused_without_a_secret() -> None:
    with pytest.raises(Unauthenticated, match="unsupported algorithm"):
        BearerTokenVerifier().verify(HmacTokenVerifier(SECRET).issue(ALICE))


def test_hs256_tokens_go_to_the_secret_and_other_algorithms_nowhere_without_a_jwks() -> None:
    verifier = BearerTokenVerifier(hmac=HmacTokenVerifier(SECRET))
    assert verifier.verify(HmacTokenVerifier(SECRET).issue(ALICE)) == ALICE
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256 = jwt.encode({"sub": ALICE}, private, algorithm="RS256", headers={"kid": "k"})
    with pytest.raises(Unauthenticated, match="unsupported algorithm"):
        verifier.verify(rs256)
    with pytest.raises(Unauthenticated):
        verifier.verify("not.a.token")


def test_local_mode_generates_its_hmac_secret(tmp_path: Path) -> None:
    tokens = hmac_tokens(Settings(stack="local", data_dir=tmp_path))
    assert tokens is not None
    assert tokens.verify(tokens.issue(ALICE)) == ALICE
    assert (tmp_path / SECRET_FILE).exists()


def test_a_jwks_only_external_server_issues_no_tokens_and_writes_no_secret(
    tmp_path: Path,
) -> None:
    settings = Settings(stack="external", data_dir=tmp_path, jwks_url="https://idp.example/jwks")
    assert hmac_tokens(settings) is None
    assert not (tmp_path / SECRET_FILE).exists()
    configured = hmac_tokens(Settings(stack="external", data_dir=tmp_path, jwt_secret=SECRET))
    assert configured is not None
    assert HmacTokenVerifier(SECRET).verify(configured.issue(ALICE)) == ALICE
