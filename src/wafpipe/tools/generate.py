"""Sample data: realistic Imperva Cloud WAF log files (``wafpipe generate``).

The generator exists so that every part of the pipeline — container, decoders, ECS mapping,
sinks, the benchmark and the demo — can be exercised on data shaped exactly like Imperva's,
including every legal quirk described in docs/formats.md, without real customer logs. Layout:

* :mod:`.samples.data` — vocabulary (user agents, places, paths, ``act`` values);
* :mod:`.samples.events` — the format-independent event model, drawn from one seeded RNG;
* :mod:`.samples.writers` — CEF, LEEF and W3C line writers;
* :mod:`.samples.container` — the Imperva file around the body (header, checksum, compression,
  encryption, optional outer gzip);
* :mod:`.samples.bad` — the broken-input files of ``--bad-input``;
* this module — the public entry points :func:`generate_files` and :func:`keygen`.

Reproducibility: independent RNG streams are derived from the seed by name (world and events,
file names, encryption, broken input), so the same seed and counts give the same file names and
the same events in the same order in every format, and adding ``--encrypt`` or ``--bad-input``
changes nothing else. With ``start`` and ``end`` given, nothing depends on the wall clock.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from wafpipe.tools.samples.bad import write_bad_files
from wafpipe.tools.samples.container import Encryptor, encode_lines, write_imperva_file
from wafpipe.tools.samples.events import EventGenerator
from wafpipe.tools.samples.writers import render

FORMATS = ("cef", "leef", "w3c")
COMPRESSIONS = ("zlib", "gzip", "none")
DEFAULT_WINDOW = timedelta(hours=1)


def _stream(seed: int, name: str) -> random.Random:
    """An RNG stream of its own per purpose; string seeds hash with SHA-512, stable across runs."""
    return random.Random(f"wafpipe-sample:{seed}:{name}")


def _window(start: datetime | None, end: datetime | None) -> tuple[int, int]:
    """(start, end) in epoch ms. Missing ends default to the hour ending now (or one hour from
    the given end); naive datetimes are taken as UTC."""
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end is not None and end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    if end is None:
        end = start + DEFAULT_WINDOW if start is not None else datetime.now(UTC)
    if start is None:
        start = end - DEFAULT_WINDOW
    if end < start:
        raise ValueError(f"--end ({end.isoformat()}) is before --start ({start.isoformat()})")
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _split(total: int, parts: int) -> list[int]:
    """Events per file: as even as possible, earlier files take the remainder."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _names(rng: random.Random, gzip_file: bool) -> Iterator[str]:
    """``<apiId>_<seq>.log`` names; sequence numbers rise but skip integers, as Imperva's do
    (docs/formats.md, "File names": ``…8989``, ``…8992``, ``…8995``)."""
    api_id = rng.randint(100, 999_999)
    seq = rng.randint(1, 2_000_000)
    suffix = ".log.gz" if gzip_file else ".log"
    first = True
    while True:
        yield f"{api_id}_{seq}{suffix}"
        seq += rng.choice((2, 3, 3, 4)) if first else rng.choice((1, 2, 3, 3, 5))
        first = False


def generate_files(
    out: Path,
    *,
    events: int = 1000,
    files: int = 1,
    fmt: str = "cef",
    compression: str = "zlib",
    gzip_file: bool = False,
    encrypt: Path | None = None,
    public_key_id: str = "1",
    attack_ratio: float = 0.2,
    start: datetime | None = None,
    end: datetime | None = None,
    seed: int = 1,
    bad_input: bool = False,
) -> list[Path]:
    """Write ``files`` Imperva files holding ``events`` events in total into ``out``.

    Every file is valid unless ``bad_input`` is set, which adds broken files after the valid ones
    (they are not counted in ``events``). ``encrypt`` is an RSA public key PEM (a private key PEM
    works too); the header then names ``public_key_id``. Returns the paths written, in sequence
    order. Raises :class:`ValueError` for arguments that cannot be honoured.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, got {compression!r}")
    if files < 1:
        raise ValueError(f"--files must be at least 1, got {files}")
    if events < files:
        raise ValueError(f"--events ({events}) must be at least --files ({files}): Imperva writes no empty files")
    if not 0.0 <= attack_ratio <= 1.0:
        raise ValueError(f"--attack-ratio must be between 0 and 1, got {attack_ratio}")
    start_ms, end_ms = _window(start, end)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    gen = EventGenerator(_stream(seed, "events"), start_ms, end_ms, events, attack_ratio)
    file_rng = _stream(seed, "files")
    names = _names(file_rng, gzip_file)
    config_id = str(file_rng.randint(100, 99_999))
    encryptor = Encryptor(encrypt, public_key_id, _stream(seed, "crypto")) if encrypt is not None else None

    paths: list[Path] = []
    stream = gen.events()
    offset = 0
    for count in _split(events, files):
        first_ms = gen.timestamps[offset]
        last_ms = gen.timestamps[offset + count - 1]
        offset += count
        body = encode_lines(render(fmt, itertools.islice(stream, count), last_ms))
        paths.append(
            write_imperva_file(
                out / next(names), body, account_id=gen.account, config_id=config_id, fmt=fmt,
                start_ms=first_ms, end_ms=last_ms, compression=compression, gzip_file=gzip_file,
                encryptor=encryptor,
            )
        )
    if bad_input:
        paths += write_bad_files(
            out, names, seed=seed, fmt=fmt, start_ms=start_ms, end_ms=end_ms, account_id=gen.account,
            config_id=config_id, compression=compression, gzip_file=gzip_file, encryptor=encryptor,
            attack_ratio=attack_ratio,
        )
    return paths


def keygen(dir: Path, public_key_id: str) -> Path:
    """Write an RSA-2048 key pair in the keys-directory layout and return the public key's path.

    ``<dir>/<id>/Private.key`` is PKCS#8 PEM without a password (what the reference client reads,
    docs/formats.md, "Keys"; mode 0600), ``<dir>/<id>/Public.pem`` the SubjectPublicKeyInfo PEM one would
    upload to Imperva and pass to ``--encrypt``. Keys come from the OS's randomness: they are
    secrets, never derived from a seed.

    An existing ``Private.key`` is never overwritten: files already encrypted for that id would
    become unreadable. The existing pair is kept (``Public.pem`` rewritten from it if missing), so
    calling this twice is harmless; use a new id for a new pair, as Imperva does.
    """
    if not public_key_id.isdigit():
        raise ValueError(f"--public-key-id must be a number (Imperva counts keys 1, 2, …), got {public_key_id!r}")
    folder = Path(dir) / public_key_id
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / "Private.key"
    public = folder / "Public.pem"
    if private.exists():
        key = serialization.load_pem_private_key(private.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{private} exists and is not an RSA private key; choose another --public-key-id")
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    if not public.exists():
        public.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return public
