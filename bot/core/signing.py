"""Signed button payloads: a forged or altered payload is refused.

Format: `<body>|<sig>` where sig is the first 12 bytes of HMAC-SHA256(secret, body),
urlsafe-base64 without padding (16 chars). Telegram allows 64 bytes of callback data, so
bodies stay short (`c:<case>:claim`, `x:box:next`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SEPARATOR = "|"


class PayloadSigner:
    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("signing secret must not be empty")
        self._secret = secret

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode("utf-8"), hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(digest).decode("ascii")

    def sign(self, body: str) -> str:
        if SEPARATOR in body:
            raise ValueError("payload body must not contain the separator")
        return f"{body}{SEPARATOR}{self._mac(body)}"

    def verify(self, payload: str) -> str | None:
        """Return the body if the signature is right, else None. Never raises."""
        if not isinstance(payload, str) or payload.count(SEPARATOR) != 1 or len(payload) > 256:
            return None
        body, sig = payload.split(SEPARATOR)
        if hmac.compare_digest(sig.encode("utf-8", "replace"), self._mac(body).encode("ascii")):
            return body
        return None
