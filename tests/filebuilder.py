"""Builds Imperva container files for tests, byte by byte, independently of the generator, so
container tests do not share a bug with the code that writes samples."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from wafpipe.imperva.crypto import encrypt_body

SAMPLE_CEF = (
    "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=438000490120534212 "
    "sourceServiceName=shop.example.com siteid=61539044 suid=1843222 "
    "requestClientApplication=Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0 deviceFacility=atl "
    "ccode=US cicode=Atlanta cs7=33.7485 cs7Label=latitude cs8=-84.3871 cs8Label=longitude "
    "Customer=Example start=1624809714018 request=shop.example.com/index.html requestMethod=GET "
    "cn1=200 app=HTTPS act=REQ_PASSED deviceExternalId=269605585508764744 sip=203.0.113.5 spt=443 "
    "in=4591 xff=198.51.100.7 cpt=42709 src=198.51.100.7 end=1624809714271"
)
SQLI_CEF = (
    "CEF:0|Incapsula|SIEMintegration|1|1|SQL Injection|0| fileId=536000420203633562 "
    "sourceServiceName=shop.example.com siteid=61539044 suid=1843222 "
    "requestClientApplication=sqlmap/1.7 deviceFacility=fra ccode=UA start=1624459989430 "
    "request=shop.example.com/login requestMethod=GET qstr=id\\=1' OR 1\\=1-- app=HTTP "
    "act=REQ_BLOCKED_SESSION deviceExternalId=300754127159822978 cpt=63326 src=77.222.131.19 "
    "end=1624459989431 fileType=50033 filePermission=666 cs9=SQL Injection, cs9Label=Rule name"
)


def sample_lines(n: int) -> list[str]:
    """``n`` distinct CEF lines (alternating access and SQL-injection events)."""
    out = []
    for i in range(n):
        base = SAMPLE_CEF if i % 2 == 0 else SQLI_CEF
        out.append(base.replace("deviceExternalId=", f"deviceExternalId={i:04d}"))
    return out


def body_text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def compress(data: bytes, how: str) -> bytes:
    if how == "zlib":
        return zlib.compress(data)
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "deflate":
        c = zlib.compressobj(wbits=-15)
        return c.compress(data) + c.flush()
    return data


def make_keys(keys_dir: Path, key_id: str = "1") -> rsa.RSAPublicKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (keys_dir / key_id).mkdir(parents=True, exist_ok=True)
    (keys_dir / key_id / "Private.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return key.public_key()


def make_file(
    lines: list[str] | bytes,
    *,
    compression: str = "zlib",
    header: dict[str, str] | None = None,
    with_header: bool = True,
    separator_newline: bool = True,
    checksum: str | None = "auto",
    public_key: rsa.RSAPublicKey | None = None,
    key_id: str = "1",
    gzip_wrap: bool = False,
) -> bytes:
    plain = lines if isinstance(lines, bytes) else body_text(lines)
    body = compress(plain, compression)
    hdr = {"accountId": "1234", "configId": "618", "format": "CEF",
           "startTime": "1624459989000", "endTime": "1624809715000"}
    hdr.update(header or {})
    if checksum == "auto":
        hdr["checksum"] = hashlib.md5(plain).hexdigest()
    elif checksum is not None:
        hdr["checksum"] = checksum
    if public_key is not None:
        wrapped, body = encrypt_body(public_key, body, os.urandom(16))
        hdr["key"] = wrapped
        hdr["publicKeyId"] = key_id
    if with_header:
        head = "".join(f"{k}:{v}\n" for k, v in hdr.items()).encode()
        data = head + (b"|==|\n" if separator_newline else b"|==|") + body
    else:
        data = body
    return gzip.compress(data, mtime=0) if gzip_wrap else data
