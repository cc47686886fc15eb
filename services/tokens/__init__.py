"""Who is calling: JWT verifiers for our own secret and for an identity provider's JWKS, and a
cache of verified tokens."""
