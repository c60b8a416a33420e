"""Emails at rest: Fernet tokens sealed through the process's libcrypto open with the
``cryptography`` package and the other way round, and every changed or foreign token is
refused, so addresses stored before or after the switch stay readable and safe."""

from __future__ import annotations

import base64
import hmac
import os

import pytest
from cryptography.fernet import Fernet as PackageFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from comments_service.verbs import fernet
from comments_service.verbs.keyring import Keyring

KEY = PackageFernet.generate_key()


@pytest.fixture
def ours() -> fernet.OpenSSLFernet:
    library = fernet.libcrypto()
    assert library is not None, "this machine's Python links an OpenSSL libcrypto"
    return fernet.OpenSSLFernet(KEY, library)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_tokens_open_on_either_side(data: bytes) -> None:
    library = fernet.libcrypto()
    assert library is not None
    ours = fernet.OpenSSLFernet(KEY, library)
    theirs = PackageFernet(KEY)
    assert theirs.decrypt(ours.encrypt(data)) == data
    assert ours.decrypt(theirs.encrypt(data)) == data


def test_the_same_time_and_iv_give_the_packages_token_byte_for_byte(
        ours: fernet.OpenSSLFernet) -> None:
    iv = os.urandom(16)
    for length in (0, 1, 15, 16, 17, 254):
        data = os.urandom(length)
        assert ours.encrypt_at(data, 1_700_000_000, iv) == \
            PackageFernet(KEY)._encrypt_from_parts(data, 1_700_000_000, iv)


def test_the_specs_known_token_opens(ours: fernet.OpenSSLFernet) -> None:
    spec = fernet.OpenSSLFernet(fernet._KNOWN_KEY, fernet.libcrypto())  # type: ignore[arg-type]
    assert spec.decrypt(fernet._KNOWN_TOKEN) == b"hello"


def flipped(token: bytes, at: int) -> bytes:
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[at] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw))


@pytest.mark.parametrize("at, part", [(0, "version"), (3, "timestamp"), (12, "iv"),
                                      (30, "ciphertext"), (-1, "mac")])
def test_a_changed_byte_anywhere_is_refused(ours: fernet.OpenSSLFernet, at: int,
                                            part: str) -> None:
    token = ours.encrypt(b"reader@example.org")
    with pytest.raises(fernet.InvalidToken):
        ours.decrypt(flipped(token, at))


@pytest.mark.parametrize("token", [
    b"", b"not base64 at all!", b"gAAAAA==",
    base64.urlsafe_b64encode(b"\x80" + bytes(8 + 16 + 15 + 32)),  # ciphertext not blocks
    base64.urlsafe_b64encode(b"\x80" + bytes(8 + 16 + 32)),  # no ciphertext at all
])
def test_malformed_tokens_are_refused(ours: fernet.OpenSSLFernet, token: bytes) -> None:
    with pytest.raises(fernet.InvalidToken):
        ours.decrypt(token)


def test_a_token_made_with_another_key_is_refused(ours: fernet.OpenSSLFernet) -> None:
    other = PackageFernet(PackageFernet.generate_key()).encrypt(b"reader@example.org")
    with pytest.raises(fernet.InvalidToken):
        ours.decrypt(other)


def test_a_signed_token_with_bad_padding_is_refused(ours: fernet.OpenSSLFernet) -> None:
    # Signed with the right key, so only the padding check can catch it: random blocks
    # decrypt to a last byte that is almost never valid padding.
    signing = base64.urlsafe_b64decode(KEY)[:16]
    refused = 0
    for _ in range(20):
        body = b"\x80" + bytes(8) + os.urandom(16) + os.urandom(32)
        token = base64.urlsafe_b64encode(body + hmac.digest(signing, body, "sha256"))
        try:
            ours.decrypt(token)
        except fernet.InvalidToken:
            refused += 1
    assert refused >= 15


@pytest.mark.parametrize("length, info", [(32, b"email-encryption"), (16, b""), (42, b"x"),
                                          (100, b"token-signing")])
def test_hkdf_derives_what_the_package_derives(length: int, info: bytes) -> None:
    secret = os.urandom(40)
    theirs = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info)
    assert fernet.hkdf_sha256(secret, info, length) == theirs.derive(secret)


def test_hkdf_matches_rfc_5869_case_3() -> None:
    okm = fernet.hkdf_sha256(bytes([0x0B] * 22), b"", 42)
    assert okm.hex() == ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                         "9d201395faa4b61a96c8")


def test_without_libcrypto_the_keyring_uses_the_package_and_reads_the_same_tokens(
        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = os.urandom(32)
    stored = Keyring(secret).encrypt_email("reader@example.org")
    monkeypatch.setattr(fernet, "libcrypto", lambda: None)
    fallback = Keyring(secret)
    assert isinstance(fallback._fernet, fernet._PackageFernet)
    assert fallback.decrypt_email(stored) == "reader@example.org"
    assert fallback.decrypt_email(flipped(stored.encode(), 30).decode()) == ""
    monkeypatch.undo()
    assert Keyring(secret).decrypt_email(fallback.encrypt_email("a@example.org")) == \
        "a@example.org"
