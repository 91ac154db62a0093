"""OIDC bearer tokens against a JWKS served on loopback: issuer, audience, expiry with leeway, signature, and a key
rotation picked up without a restart."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from futago.security.oidc import OidcVerifier
from futago.security.policy import PolicyEntry

ISSUER = "https://id.city.example.jp/realms/futago"
AUDIENCE = "futago-api"


def _jwk(public: Any) -> dict[str, Any]:
    """A public key of any type the tests sign with (RSA, Ed25519, P-256) as a JWK."""
    if isinstance(public, rsa.RSAPublicKey):
        writer: Any = jwt.algorithms.RSAAlgorithm
    elif isinstance(public, ec.EllipticCurvePublicKey):
        writer = jwt.algorithms.ECAlgorithm
    else:
        writer = jwt.algorithms.OKPAlgorithm
    return dict(json.loads(writer.to_jwk(public)))


class Provider:
    """An identity provider's JWKS endpoint on loopback, whose keys can be rotated; it counts the fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                public = [_jwk(k.public_key()) | {"kid": kid, "use": "sig"} for kid, k in provider.keys.items()]
                body = json.dumps({"keys": public}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def new_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def token(self, kid: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300, "groups": ["river"]}
        return jwt.encode(body | claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider()
    server.new_key("k1")
    yield server
    server.httpd.shutdown()


@pytest.fixture
def client(app: App, provider: Provider) -> Iterator[TestClient]:
    app.settings = app.settings.with_overrides(
        oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=provider.url, oidc_leeway_s=30
    )
    app.security.grant(PolicyEntry("group:river", "query", frozenset({"READ"})))
    with TestClient(create_api(app), raise_server_exceptions=False) as test_client:
        yield test_client


def call(client: TestClient, token: str) -> Any:
    return client.get("/twins", headers={"Authorization": f"Bearer {token}"})


def test_a_valid_token_acts_as_its_subject_and_groups(client: TestClient, provider: Provider) -> None:
    assert client.get("/twins").status_code == 401  # configuring OIDC makes authentication required
    assert call(client, provider.token("k1")).status_code == 200  # group:river may query
    assert call(client, provider.token("k1", groups=[])).status_code == 403  # user:alice alone may not


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-service"}, "not for this service"),
        ({"iss": "https://evil.example"}, "not issued by"),
        ({"exp": int(time.time()) - 120}, "expired"),
    ],
)
def test_tokens_for_others_from_others_or_expired_are_refused(
    client: TestClient, provider: Provider, claims: dict[str, Any], reason: str
) -> None:
    refused = call(client, provider.token("k1", **claims))
    assert refused.status_code == 401 and reason in refused.json()["detail"]


def test_clock_skew_within_the_leeway_is_forgiven(client: TestClient, provider: Provider) -> None:
    assert call(client, provider.token("k1", exp=int(time.time()) - 10)).status_code == 200


def test_a_forged_signature_is_refused(client: TestClient, provider: Provider) -> None:
    head, body, _ = provider.token("k1").split(".")
    _, _, other = provider.token("k1", sub="mallory").split(".")
    assert call(client, f"{head}.{body}.{other}").status_code == 401


def test_a_rotated_key_is_picked_up_without_a_restart(client: TestClient, provider: Provider) -> None:
    # The server's verifier, with no cooldown between JWKS fetches (30 s by default) so the test need not wait.
    client.app.state.oidc = OidcVerifier(ISSUER, AUDIENCE, provider.url, cooldown_s=0)  # type: ignore[attr-defined]
    assert call(client, provider.token("k1")).status_code == 200
    provider.new_key("k2")  # the provider rotates; futago has only k1 cached
    before = provider.fetches
    assert call(client, provider.token("k2")).status_code == 200
    assert provider.fetches == before + 1  # it fetched the JWKS again for the unknown key id


@pytest.mark.parametrize(
    ("signer", "alg", "kid"),
    [
        ("rsa", "RS256", "ed"),
        ("rsa", "RS256", "ec"),
        ("ed", "EdDSA", "rsa"),
        ("ec", "ES256", "ed"),
        ("rsa", "PS256", "ec"),
    ],
)
def test_a_token_whose_algorithm_does_not_fit_its_key_is_a_401(
    app: App, provider: Provider, signer: str, alg: str, kid: str
) -> None:
    """Issue 15 item 12: RS256 with the kid of an Ed25519 key was an unauthenticated 500 with a traceback."""
    provider.keys |= {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ed": ed25519.Ed25519PrivateKey.generate(),
        "ec": ec.generate_private_key(ec.SECP256R1()),
    }
    app.settings = app.settings.with_overrides(oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=provider.url)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "iat": now, "exp": now + 300}
    token = jwt.encode(claims, provider.keys[signer], algorithm=alg, headers={"kid": kid})
    fitting = jwt.encode(claims, provider.keys[kid], algorithm={"rsa": "RS256", "ed": "EdDSA", "ec": "ES256"}[kid],
                         headers={"kid": kid})  # fmt: skip
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        answer = client.get("/twins", headers={"Authorization": f"Bearer {token}"})
        accepted = client.get("/auth/session", headers={"Authorization": f"Bearer {fitting}"})
    assert answer.status_code == 401 and answer.headers["content-type"].startswith("application/problem+json")
    assert accepted.status_code == 403  # the same key with its own algorithm authenticates (no policy grants it)
