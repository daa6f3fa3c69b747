"""Writes one Imperva file around a stream of body bytes (FORMATS §1, DESIGN §4).

Layout: ``name:value`` header lines (``accountId``, ``configId``, ``checksum``, ``format``,
``startTime``, ``endTime``, then ``publicKeyId``/``key`` when encrypted), ``|==|\\n``, then the body
compressed (zlib by default, gzip, or none) and, when a public key is given, AES-encrypted. The
checksum is the MD5 of the final plain body, the 2016 reference client's rule (FORMATS §1.6), so it
is known only after the body is rendered: the body streams through the compressor into a spooled
temporary file, and the header is written in front of it afterwards. Files appear atomically
(written under a hidden temporary name, then renamed), so a directory source never sees half a file.

Everything written is reproducible: the AES key and the RSA padding come from a seeded RNG and the
gzip headers carry fixed times.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import random
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from wafpipe.imperva import crypto

SPOOL_BYTES = 32 << 20
_WBITS = {"zlib": 15, "gzip": 31}


def encode_lines(lines: Iterable[str], batch: int = 2000) -> Iterator[bytes]:
    """UTF-8 body chunks of ``batch`` lines each, every line ending in ``\\n`` (FORMATS §1.7)."""
    buf: list[str] = []
    for line in lines:
        buf.append(line)
        if len(buf) >= batch:
            buf.append("")
            yield "\n".join(buf).encode("utf-8")
            buf = []
    if buf:
        buf.append("")
        yield "\n".join(buf).encode("utf-8")


class Encryptor:
    """Imperva's encryption (FORMATS §1.5) with a reproducible content key.

    :func:`wafpipe.imperva.crypto.encrypt_body` does the AES part. Its RSA wrap uses PKCS#1 v1.5, whose
    padding is random by design, so the header ``key`` would differ on every run; to keep output
    byte-for-byte deterministic for a seed the key is re-wrapped here with padding bytes from the
    seeded RNG. Both are valid PKCS#1 v1.5 encryptions of the same base64 text of the AES key.
    """

    def __init__(self, public_pem: Path, key_id: str, rng: random.Random) -> None:
        data = Path(public_pem).read_bytes()
        try:
            key: object = serialization.load_pem_public_key(data)
        except ValueError:
            # A private key works too: its public half is what encrypts.
            key = serialization.load_pem_private_key(data, password=None).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"{public_pem} is not an RSA key; Imperva uses RSA 2048 key pairs")
        if not key_id.isdigit():
            raise ValueError(f"--public-key-id must be a number (Imperva counts keys 1, 2, …), got {key_id!r}")
        self.public_key = key
        self.key_id = key_id
        self.rng = rng

    def _wrap(self, aes_key: bytes) -> str:
        nums = self.public_key.public_numbers()
        k = (self.public_key.key_size + 7) // 8
        msg = base64.b64encode(aes_key)
        pad = bytes(self.rng.randrange(1, 256) for _ in range(k - len(msg) - 3))
        em = b"\x00\x02" + pad + b"\x00" + msg
        wrapped = pow(int.from_bytes(em, "big"), nums.e, nums.n).to_bytes(k, "big")
        return base64.b64encode(wrapped).decode("ascii")

    def encrypt(self, compressed: bytes) -> tuple[str, bytes]:
        """(header ``key`` value, ciphertext) for one file, with a fresh 128-bit content key."""
        aes_key = self.rng.randbytes(16)
        _, ciphertext = crypto.encrypt_body(self.public_key, compressed, aes_key)
        return self._wrap(aes_key), ciphertext


def write_imperva_file(
    path: Path,
    body: Iterable[bytes],
    *,
    account_id: str,
    config_id: str,
    fmt: str,
    start_ms: int,
    end_ms: int,
    compression: str,
    gzip_file: bool,
    encryptor: Encryptor | None,
    checksum: str | None = None,
    truncate: bool = False,
) -> Path:
    """Write one file; ``checksum``/``truncate`` exist for the broken-input cases only."""
    md5 = hashlib.md5(usedforsecurity=False)
    comp = zlib.compressobj(6, zlib.DEFLATED, _WBITS[compression]) if compression != "none" else None
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        for chunk in body:
            md5.update(chunk)
            spool.write(comp.compress(chunk) if comp is not None else chunk)
        if comp is not None:
            spool.write(comp.flush())
        header = [
            f"accountId:{account_id}",
            f"configId:{config_id}",
            f"checksum:{checksum if checksum is not None else md5.hexdigest()}",
            f"format:{fmt.upper()}",
            f"startTime:{start_ms}",
            f"endTime:{end_ms}",
        ]
        size = spool.tell()
        spool.seek(0)
        payload: bytes | None = None
        if truncate:
            payload = spool.read(max(1, size * 3 // 5))  # cut mid-stream, as an interrupted transfer
        if encryptor is not None:
            key_value, payload = encryptor.encrypt(payload if payload is not None else spool.read())
            header += [f"publicKeyId:{encryptor.key_id}", f"key:{key_value}"]
        head = ("\n".join(header) + "\n|==|\n").encode("ascii")
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as raw:
            out: IO[bytes] = raw
            gz: gzip.GzipFile | None = None
            if gzip_file:
                inner = path.name[:-3] if path.name.endswith(".gz") else path.name
                gz = gzip.GzipFile(filename=inner, mode="wb", fileobj=raw, mtime=end_ms // 1000)
                out = gz
            out.write(head)
            if payload is not None:
                out.write(payload)
            else:
                shutil.copyfileobj(spool, out, 1 << 20)
            if gz is not None:
                gz.close()
        os.replace(tmp, path)
    return path
