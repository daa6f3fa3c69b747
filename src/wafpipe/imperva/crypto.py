"""Imperva's optional encryption (FORMATS §1.5, DESIGN §2 "Keys").

The header ``key`` is base64 of an RSA (PKCS#1 v1.5) encryption of *base64 text* of the AES key;
the body is AES-CBC with an all-zero IV over the compressed data. Private keys live in the keys
directory as ``<publicKeyId>/Private.key`` (the reference client's layout) or ``<publicKeyId>.pem``.
Key material and the wrapped key never appear in messages.

``cryptography`` is imported by the functions that decrypt, on the first encrypted file: it maps
OpenSSL and its Rust bindings (~9 MiB resident), and every collector process imports this module
(the main one for :func:`key_paths`, each worker for the container) while most deliveries are not
encrypted (issue 20: the process tree's peak memory).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from wafpipe.errors import DecryptError, MissingKeyError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

ZERO_IV = bytes(16)


def key_paths(keys_dir: Path | None, key_id: str) -> list[Path]:
    base = keys_dir or Path("keys")
    return [base / key_id / "Private.key", base / f"{key_id}.pem"]


@lru_cache(maxsize=32)
def _load_pem(path: Path, mtime_ns: int) -> rsa.RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DecryptError(f"{path} is not an RSA private key", hint="Imperva uses RSA 2048 key pairs")
    return key


def load_private_key(keys_dir: Path | None, key_id: str) -> rsa.RSAPrivateKey:
    if not key_id or not key_id.isdigit():
        raise MissingKeyError(
            f"encrypted file has no usable publicKeyId (got {key_id!r})",
            hint="the header must name the key pair that encrypted it",
        )
    candidates = key_paths(keys_dir, key_id)
    for path in candidates:
        if path.is_file():
            try:
                return _load_pem(path, path.stat().st_mtime_ns)
            except (ValueError, TypeError) as exc:
                raise DecryptError(
                    f"private key {path} cannot be loaded ({type(exc).__name__})",
                    hint="it must be an unencrypted PEM RSA key (openssl pkcs8 -topk8 -nocrypt)",
                ) from None
    raise MissingKeyError(
        f"no private key for publicKeyId {key_id}: looked for {candidates[0]} and {candidates[1]}",
        hint=f"put the private key of key pair {key_id} at {candidates[0]} (or configure [keys] dir)",
    )


def unwrap_content_key(private_key: rsa.RSAPrivateKey, wrapped_b64: str, key_id: str) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import padding as asym_padding

    try:
        wrapped = base64.b64decode(wrapped_b64, validate=False)
        inner = private_key.decrypt(wrapped, asym_padding.PKCS1v15())
        aes_key = base64.b64decode(inner)
    except (ValueError, binascii.Error):
        raise DecryptError(
            f"the content key does not decrypt with private key {key_id}",
            hint="the key in the keys directory is not the one this file was encrypted for",
        ) from None
    if len(aes_key) not in (16, 24, 32):
        # With a wrong private key, PKCS#1 v1.5 decryption may "succeed" with random bytes
        # (implicit rejection), so a bad length usually means the wrong key, not a damaged header.
        raise DecryptError(
            f"the content key does not decrypt with private key {key_id} to an AES key "
            f"({len(aes_key)} bytes, not 16, 24 or 32)",
            hint="the key in the keys directory is not the one this file was encrypted for, "
            "or the header's key is damaged",
        )
    return aes_key


def aes_cbc_stream(aes_key: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decrypt a stream; strip PKCS#7 padding when it is valid (zlib ignores the tail otherwise)."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    dec = Cipher(algorithms.AES(aes_key), modes.CBC(ZERO_IV)).decryptor()
    total = 0
    held = b""
    for chunk in chunks:
        total += len(chunk)
        out = held + dec.update(chunk)
        held, out = out[-16:], out[:-16]
        if out:
            yield out
    if total % 16:
        if held:
            yield held
        raise DecryptError(
            f"ciphertext length {total} is not a multiple of 16",
            hint="the file was truncated in transfer; fetch it again",
        )
    held += dec.finalize()
    if held:
        unpadder = padding.PKCS7(128).unpadder()
        with contextlib.suppress(ValueError):
            held = unpadder.update(held) + unpadder.finalize()
        if held:
            yield held


def encrypt_body(public_key: rsa.RSAPublicKey, data: bytes, aes_key: bytes) -> tuple[str, bytes]:
    """The inverse, for the sample generator: returns (header ``key`` value, ciphertext)."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    wrapped = public_key.encrypt(base64.b64encode(aes_key), asym_padding.PKCS1v15())
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.AES(aes_key), modes.CBC(ZERO_IV)).encryptor()
    return base64.b64encode(wrapped).decode("ascii"), enc.update(padded) + enc.finalize()
