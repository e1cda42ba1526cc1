"""PBKDF2-HMAC-SHA256 (RFC 8018), the password hash where ``hashlib`` has no scrypt.

Pyodide (the kit in the browser) builds Python without OpenSSL: ``hashlib.scrypt`` and
``hashlib.pbkdf2_hmac`` are missing, while ``hashlib.sha256`` and ``hmac`` are there. This module
derives the key with those two, following RFC 8018 section 5.2, and uses ``hashlib.pbkdf2_hmac``
instead wherever it exists (the results are equal; the tests check it). The iteration count and
the other parameters are the kit's choice ``password_hash_fallback``.
"""

from __future__ import annotations

import hashlib

__all__ = ["pbkdf2_sha256"]

_BLOCK = 64  # SHA-256's block size in bytes (HMAC pads or hashes the key to this length)


def _pure_pbkdf2_sha256(password: bytes, salt: bytes, iterations: int, dklen: int) -> bytes:
    """RFC 8018 PBKDF2 with HMAC-SHA256, built from ``hashlib.sha256`` alone."""
    key = hashlib.sha256(password).digest() if len(password) > _BLOCK else password
    key = key.ljust(_BLOCK, b"\0")
    inner, outer = hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def prf(message: bytes) -> bytes:
        first = inner.copy()
        first.update(message)
        second = outer.copy()
        second.update(first.digest())
        return second.digest()

    blocks = []
    for index in range(1, -(-dklen // 32) + 1):
        u = prf(salt + index.to_bytes(4, "big"))
        total = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            u = prf(u)
            total ^= int.from_bytes(u, "big")
        blocks.append(total.to_bytes(32, "big"))
    return b"".join(blocks)[:dklen]


def pbkdf2_sha256(password: bytes, salt: bytes, iterations: int, dklen: int = 32) -> bytes:
    """The PBKDF2-HMAC-SHA256 key of ``password``: OpenSSL's when Python has it, else pure Python."""
    if iterations < 1 or dklen < 1:
        raise ValueError("PBKDF2 needs at least one iteration and one byte of output")
    native = getattr(hashlib, "pbkdf2_hmac", None)
    if native is not None:
        return native("sha256", password, salt, iterations, dklen)
    return _pure_pbkdf2_sha256(password, salt, iterations, dklen)
