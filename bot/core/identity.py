"""Pseudonymous ids: the store never sees a platform's user id."""

from __future__ import annotations

import hashlib
import hmac


def pseudonymise(pepper: bytes, platform: str, platform_user_id: str) -> str:
    """Stable, non-reversible id for a platform user (HMAC-SHA256 with a secret pepper)."""
    mac = hmac.new(pepper, f"{platform}:{platform_user_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def handle_for(user: str) -> str:
    """A short handle moderators can read aloud, derived from the pseudonymous id."""
    return f"person-{user[:6]}"
