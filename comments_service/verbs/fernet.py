"""Fernet tokens (the emails at rest) sealed by the OpenSSL library Python itself loaded.

The format is Fernet's, byte for byte (https://github.com/fernet/spec): version 0x80, a
64-bit timestamp, a random 128-bit IV, AES-128-CBC with PKCS#7 padding, then HMAC-SHA256
over all of that, base64url-encoded. Tokens made by the ``cryptography`` package open
here and the other way round (tests/test_fernet.py checks both ways), so stored addresses
need no migration whichever side made them.

Why not ``cryptography.fernet`` itself: its Rust library, with the OpenSSL it bundles,
costs every serving process about 8.7 MB resident to encrypt one address per post
(benchmarks/README.md, "Lean at every scale"), while the process already holds an OpenSSL
``libcrypto``: Python's ``ssl`` and ``hashlib`` modules link it, and the server imports
them. Only the block cipher is called through it (``EVP_aes_128_cbc``, the same primitive
``cryptography`` calls); the MAC is the standard library's ``hmac``, checked in constant
time *before* anything is decrypted, so a tampered token never reaches the padding check.
Where that library cannot be found or fails its known-answer check, ``fernet_for`` falls
back to ``cryptography`` (a dependency still, imported only then).
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import hmac
import os
import struct
import time
from functools import lru_cache
from typing import Protocol

VERSION = b"\x80"
BLOCK = 16
_HEADER = 1 + 8 + BLOCK  # version, timestamp, IV
_MAC = 32


class InvalidToken(Exception):
    """The token is malformed, was made with another key, or was changed."""


class Fernet(Protocol):
    """What the keyring needs of a Fernet implementation."""

    def encrypt(self, data: bytes) -> bytes: ...

    def decrypt(self, token: bytes) -> bytes: ...


def hkdf_sha256(secret: bytes, info: bytes, length: int = 32, salt: bytes = b"") -> bytes:
    """HKDF (RFC 5869) with SHA-256; an empty salt is HashLen zero bytes, as the RFC says."""
    if not 0 < length <= 255 * 32:
        raise ValueError("hkdf: length must be 1 to 8160 bytes")
    prk = hmac.digest(salt or bytes(32), secret, "sha256")
    okm = b""
    block = b""
    counter = 1
    while len(okm) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), "sha256")
        okm += block
        counter += 1
    return okm[:length]


class _LibCrypto:
    """The few EVP functions AES-128-CBC needs, typed, from one libcrypto."""

    def __init__(self, library: ctypes.CDLL) -> None:
        pointer, size, buffer = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
        out_length = ctypes.POINTER(ctypes.c_int)
        self.new = _typed(library.EVP_CIPHER_CTX_new, pointer, [])
        self.free = _typed(library.EVP_CIPHER_CTX_free, None, [pointer])
        self.cipher = _typed(library.EVP_aes_128_cbc, pointer, [])()
        if not self.cipher:
            raise OSError("libcrypto has no AES-128-CBC")
        self.init = {
            True: _typed(library.EVP_EncryptInit_ex, size,
                         [pointer, pointer, pointer, buffer, buffer]),
            False: _typed(library.EVP_DecryptInit_ex, size,
                          [pointer, pointer, pointer, buffer, buffer]),
        }
        self.update = {
            True: _typed(library.EVP_EncryptUpdate, size,
                         [pointer, buffer, out_length, buffer, size]),
            False: _typed(library.EVP_DecryptUpdate, size,
                          [pointer, buffer, out_length, buffer, size]),
        }
        self.final = {
            True: _typed(library.EVP_EncryptFinal_ex, size, [pointer, buffer, out_length]),
            False: _typed(library.EVP_DecryptFinal_ex, size, [pointer, buffer, out_length]),
        }

    def aes_128_cbc(self, encrypt: bool, key: bytes, iv: bytes, data: bytes) -> bytes | None:
        """The data encrypted (padded) or decrypted (unpadded); None if the padding is bad."""
        context = self.new()
        if not context:
            raise MemoryError("libcrypto could not allocate a cipher context")
        try:
            if self.init[encrypt](context, self.cipher, None, key, iv) != 1:
                raise OSError("libcrypto refused the AES key")
            out = ctypes.create_string_buffer(len(data) + BLOCK)
            written, last = ctypes.c_int(0), ctypes.c_int(0)
            if self.update[encrypt](context, out, ctypes.byref(written), data,
                                    len(data)) != 1:
                return None
            tail = ctypes.cast(ctypes.addressof(out) + written.value, ctypes.c_char_p)
            if self.final[encrypt](context, tail, ctypes.byref(last)) != 1:
                return None  # decrypting: the padding did not check out
            return out.raw[:written.value + last.value]
        finally:
            self.free(context)


def _typed(function: ctypes._CFuncPtr, result: object, arguments: list[object]
           ) -> ctypes._CFuncPtr:
    # Every pointer typed: an untyped return value would be cut to 32 bits.
    function.restype = result
    function.argtypes = arguments
    return function


class OpenSSLFernet:
    """Fernet over libcrypto's AES-128-CBC; the same tokens as ``cryptography.fernet``."""

    def __init__(self, key: bytes, library: _LibCrypto) -> None:
        raw = base64.urlsafe_b64decode(key)
        if len(raw) != 32:
            raise ValueError("fernet: the key must be 32 url-safe base64-encoded bytes")
        self._signing, self._encryption = raw[:16], raw[16:]
        self._library = library

    def encrypt(self, data: bytes) -> bytes:
        """A new token for the data, with a fresh random IV and the current time."""
        return self.encrypt_at(data, int(time.time()), os.urandom(BLOCK))

    def encrypt_at(self, data: bytes, now: int, iv: bytes) -> bytes:
        """The token for this time and IV (the spec's test vectors fix both)."""
        sealed = self._library.aes_128_cbc(True, self._encryption, iv, data)
        if sealed is None:
            raise OSError("libcrypto could not encrypt")
        body = VERSION + struct.pack(">Q", now) + iv + sealed
        return base64.urlsafe_b64encode(body + hmac.digest(self._signing, body, "sha256"))

    def decrypt(self, token: bytes) -> bytes:
        """The data, or InvalidToken if the token is malformed, foreign or changed."""
        try:
            raw = base64.urlsafe_b64decode(token)
        except (binascii.Error, ValueError) as error:
            raise InvalidToken from error
        sealed_length = len(raw) - _HEADER - _MAC
        if raw[:1] != VERSION or sealed_length < BLOCK or sealed_length % BLOCK:
            raise InvalidToken
        body, mac = raw[:-_MAC], raw[-_MAC:]
        if not hmac.compare_digest(mac, hmac.digest(self._signing, body, "sha256")):
            raise InvalidToken
        plain = self._library.aes_128_cbc(False, self._encryption, raw[9:_HEADER],
                                          raw[_HEADER:-_MAC])
        if plain is None:
            raise InvalidToken
        return plain


class _PackageFernet:
    """``cryptography.fernet.Fernet``, with its InvalidToken raised as ours."""

    def __init__(self, key: bytes) -> None:
        from cryptography import fernet  # only where libcrypto is out of reach

        self._fernet = fernet.Fernet(key)
        self._invalid = fernet.InvalidToken

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except self._invalid as error:
            raise InvalidToken from error


# The first vector of the Fernet spec's generate.json: a libcrypto that does not give
# exactly this token is not used.
_KNOWN_KEY = b"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="
_KNOWN_TIME = 499162800
_KNOWN_TOKEN = (b"gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7"
                b"JcbmrR64jVmpU4IwqDA==")


# OpenSSL 3 and 1.1 on Linux (the one Python's ssl module linked is already mapped, so
# opening it again costs nothing), the unversioned development name, then macOS's.
_SONAMES = ("libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so", "libcrypto.3.dylib")


@lru_cache(maxsize=1)
def libcrypto() -> _LibCrypto | None:
    """An OpenSSL libcrypto that loads and seals the spec's known token exactly, or None."""
    library = None
    for name in _SONAMES:
        try:
            library = _LibCrypto(ctypes.CDLL(name))
            break
        except (OSError, AttributeError):
            continue
    if library is None:
        return None
    try:
        probe = OpenSSLFernet(_KNOWN_KEY, library)
        if (probe.encrypt_at(b"hello", _KNOWN_TIME, bytes(range(16))) != _KNOWN_TOKEN
                or probe.decrypt(_KNOWN_TOKEN) != b"hello"):
            return None
    except (OSError, AttributeError, InvalidToken):
        return None
    return library


def fernet_for(key: bytes) -> Fernet:
    """Fernet for this key: over the process's libcrypto, else from ``cryptography``."""
    library = libcrypto()
    return OpenSSLFernet(key, library) if library else _PackageFernet(key)
