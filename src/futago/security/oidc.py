"""OAuth2/OIDC bearer tokens: JWTs checked against the identity provider's JWKS (issuer, audience, expiry with a
clock-skew leeway, signature). Keys are fetched from the JWKS URL and fetched again when a token names a key id
not seen before (at most once per ``cooldown_s``, so that tokens with made-up key ids cannot make futago hammer
the provider), so the provider can rotate its keys without futago restarting.

A token acts as ``user:<sub>`` and the groups of its ``groups`` claim (``group:<name>``); what it may do is up to
the policy entries, as for an API key. A dashboard session started with a token ends when the token expires.

Anything that goes wrong while checking a token is the token's fault and answered 401.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import jwt

from futago.core.errors import Unauthorized
from futago.security.service import Principal

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]


class OidcVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        leeway_s: float = 60.0,
        cooldown_s: float = 30.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s
        url = jwks_url or issuer.rstrip("/") + "/.well-known/jwks.json"
        self.keys = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=10, cooldown_duration=cooldown_s)

    def authenticate(self, token: str) -> Principal:
        try:
            key = self.keys.get_signing_key_from_jwt(token)  # an unknown kid makes it fetch the JWKS again
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized(f"the token is not for this service (audience {self.audience!r})") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized(f"the token was not issued by {self.issuer!r}") from None
        except jwt.PyJWKClientError as exc:
            raise Unauthorized(f"the token's signing key is not in the issuer's JWKS: {exc}") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the token is not valid: {exc}") from None
        except Exception as exc:  # whatever a forged token makes PyJWT raise is the token's fault, not the server's:
            # e.g. RS256 named with the kid of an Ed25519 key: PyJWT raises TypeError or InvalidKeyError, and any
            # such case must be the caller's 401, never a 500 with a traceback per request.
            log.debug("OIDC token refused: %s: %s", type(exc).__name__, exc)
            raise Unauthorized("the token cannot be checked against its key: does its alg fit the key?") from None
        groups = claims.get("groups", [])
        groups = [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []
        subject = f"user:{claims['sub']}"
        expires = datetime.fromtimestamp(claims["exp"], UTC) if isinstance(claims["exp"], int | float) else None
        return Principal(subject, (subject, *(f"group:{g}" for g in groups)), expires=expires)
