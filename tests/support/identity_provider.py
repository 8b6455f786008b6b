"""A real identity provider's key endpoint on loopback: a JWKS document over HTTP, signing keys
made with ``cryptography``, and tokens signed by them. Keys can be rotated or the endpoint
stopped while a service uses it; ``fetches`` counts how often the service asked."""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://id.clinic.example/realms/clinic-a"
AUDIENCE = "stepwise-api"


class SigningKey:
    def __init__(self, algorithm: str):
        self.algorithm = algorithm
        self.kid = uuid.uuid4().hex[:12]
        self.private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if algorithm == "RS256":
            rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.private, self.jwk = rsa_key, RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
        else:
            ec_key = ec.generate_private_key(ec.SECP256R1())
            self.private, self.jwk = ec_key, ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)
        self.jwk.update(kid=self.kid, use="sig", alg=algorithm)


class IdentityProvider:
    def __init__(self):
        self.keys: list[SigningKey] = [SigningKey("RS256")]
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                provider.fetches += 1
                body = json.dumps({"keys": [key.jwk for key in provider.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/protocol/openid-connect/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def settings(self, **overrides: str) -> dict[str, str]:
        """The environment that points a service at this provider."""
        return {"JWT_JWKS_URL": self.url, "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, **overrides}

    def rotate(self, algorithm: str = "RS256") -> SigningKey:
        """Publish a new key in place of every old one."""
        self.keys = [SigningKey(algorithm)]
        return self.keys[0]

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "therapist-1", "tenant": "clinic-a", "role": "therapist",
                  "iat": now, "exp": now + 300}
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, key: SigningKey | None = None, headers: dict | None = None, **claims) -> str:
        """A token signed by ``key`` (the current one by default); a claim given as None is left out."""
        key = key or self.keys[0]
        return jwt.encode(self.claims(**claims), key.private, algorithm=key.algorithm,
                          headers={"kid": key.kid, **(headers or {})})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
