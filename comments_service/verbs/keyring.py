"""Keys derived from the secret: email encryption at rest, keyed hashes of emails and IPs."""

from __future__ import annotations

import base64
import hashlib
import hmac

from comments_service.verbs.fernet import InvalidToken, fernet_for, hkdf_sha256


def _derive(secret: bytes, purpose: bytes, length: int = 32) -> bytes:
    return hkdf_sha256(secret, purpose, length)


class Keyring:
    """Separate keys per purpose, all derived from one secret, so one use never leaks another."""

    def __init__(self, secret: bytes) -> None:
        self._fernet = fernet_for(base64.urlsafe_b64encode(_derive(secret, b"email-encryption")))
        self._email_key = _derive(secret, b"email-hash")
        self._ip_key = _derive(secret, b"ip-hash")
        self.signing_key = _derive(secret, b"token-signing")

    def encrypt_email(self, email: str) -> str:
        return self._fernet.encrypt(email.encode()).decode()

    def decrypt_email(self, token: str) -> str:
        """The plain address, or "" when the token is empty or was made with another key."""
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return ""

    def email_hash(self, email: str) -> str:
        normalized = normalize_email(email).encode()
        return hmac.new(self._email_key, normalized, hashlib.sha256).hexdigest()

    def ip_hash(self, ip: str) -> str:
        return hmac.new(self._ip_key, ip.encode(), hashlib.sha256).hexdigest()


def normalize_email(email: str) -> str:
    """Lower-case and trim, so look-ups match however the reader typed it."""
    return email.strip().lower()
