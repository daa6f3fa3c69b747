"""Broken input for ``wafpipe generate --bad-input`` (DESIGN §4, §7).

Each case the pipeline must survive gets its own file, after the valid ones, with the next
sequence numbers: a checksum mismatch, a compressed body cut short, and a file whose container is
sound but whose lines are not — invalid addresses, control characters, non-UTF-8 bytes, lines that
do not decode, a line over the 1 MiB line limit, and Attack Analytics lines (another Imperva CEF
product that shares the stream, FORMATS §2.6 quirk 23). W3C files cannot hold CEF lines, so there
the Attack Analytics lines get a CEF file of their own. The cases are drawn from their own RNG
stream so that ``--bad-input`` leaves the valid files byte-for-byte unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Callable, Iterator
from pathlib import Path

from wafpipe.tools.samples import data as D
from wafpipe.tools.samples.container import Encryptor, encode_lines, write_imperva_file
from wafpipe.tools.samples.events import Event, EventGenerator
from wafpipe.tools.samples.writers import W3CWriter, cef_line, leef_line, render

LONG_LINE_BYTES = (1 << 20) + 4096  # just over the container's default max_line_bytes
_MARK = "\u2063NONUTF8\u2063"  # replaced by invalid UTF-8 bytes after encoding


def attack_analytics_lines(rng: random.Random, start_ms: int, end_ms: int) -> tuple[list[str], list[int]]:
    """Attack Analytics incidents in both shapes seen in public data: the signature slot ``1`` and
    the signature slot holding the violation type (FortiSIEM/SEKOIA examples). Returns the lines
    and their start times, in time order."""
    out = []
    times = sorted(rng.randint(start_ms, end_ms) for _ in D.AA_NAMES)
    for i, (name, t0) in enumerate(zip(D.AA_NAMES, times, strict=True)):
        ip = f"198.51.100.{rng.randint(1, 254)}"
        attack = name.split(" attack")[0]
        sig = "1" if i % 2 == 0 else attack
        sep = "" if i % 2 == 0 else " "
        out.append(
            f"CEF:0|Imperva Inc|Attack Analytics|0|{sig}|{name}|MAJOR|{sep}msg={name} start={t0} end={t0 + 5287} "
            f"src={ip} dhost=shop.example.com request=/cmd.exe requestClientApplication=Chrome cs1={rng.randint(2, 900)} "
            f"cs1Label=ImpervaAANumberOfEvents cs2=100 cs2Label=ImpervaAAPercentBlocked cs3=Germany "
            f"cs3Label=ImpervaAACountry cs4=CloudWAF cs4Label=ImpervaAAPlatform cs5={ip} "
            f"cs5Label=ImpervaAADominantIps cs6=3418038110000000127-10656037459001,3418038110000000127-3668125668403 "
            f"cs6Label=ImpervaAASampleEvents cs7={attack} cs7Label=ImpervaAAAttackType cs8=1080105,10801030 "
            f"cs8Label=ImpervaAADominantSiteIds cs9=CVE-2013-0632,CVE-2017-5638 cs9Label=ImpervaAACves"
        )
    return out, times


def _undecodable(fmt: str) -> list[str]:
    """Lines each decoder must reject with a message (and the rest of the file must go on)."""
    if fmt == "cef":
        return ["CEF:0|Incapsula|SIEMintegration|1|1|SQL Inj",
                "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| this extension has no key at all",
                "GET /index.html HTTP/1.1 200 - not an event"]
    if fmt == "leef":
        return ["LEEF:0|Incapsula|SIEMintegr",
                "LEEF:0|Incapsula|SIEMintegration|0|Normal|\tattributes without any key",
                "GET /index.html HTTP/1.1 200 - not an event"]
    return ['"2024-06-10" "06:13:20" "only three values"',
            '"2024-06-10" "06:13:20" "unterminated',
            "GET /index.html HTTP/1.1 200 - not an event"]


def _bad_lines_body(fmt: str, events: list[Event], rng: random.Random, start_ms: int, end_ms: int) -> Iterator[bytes]:
    """Valid events with every line-level fault mixed in."""
    w3c = W3CWriter()
    line: Callable[[Event], str] = {"cef": cef_line, "leef": leef_line}.get(fmt, w3c.line)
    e = iter(events)
    faults: list[Event] = [
        # invalid addresses in every address field
        dataclasses.replace(next(e), src="999.12.4.300", xff="198.51.100.7, not-an-ip, 2001:db8::zz",
                            sip="xxx.xxx.31.120", spt=80),
        # control characters inside values (never line breaks: FORMATS §1.7)
        dataclasses.replace(next(e), ua="Mozilla/5.0 (X11; Linux)\x0b\x1c scanner\x1b[31m\x0c\r x",
                            city="Zü\x85rich\u2028Nord", path="/del\x7fhere"),
        dataclasses.replace(next(e), ua=f"BadBytes/1.0 {_MARK}"),
    ]
    big = dataclasses.replace(next(e), method="POST", postbody="A" * LONG_LINE_BYTES)
    rendered: list[str] = W3CWriter.directives(events[-1].start) if fmt == "w3c" else []
    rest = list(e)
    rendered += [line(ev) for ev in rest[: len(rest) // 2]]
    rendered += [line(ev) for ev in faults]
    rendered += _undecodable(fmt)
    if fmt != "w3c":
        rendered += attack_analytics_lines(rng, start_ms, end_ms)[0]
    rendered.append(line(big))
    rendered += [line(ev) for ev in rest[len(rest) // 2 :]]
    for chunk in encode_lines(rendered):
        yield chunk.replace(_MARK.encode("utf-8"), b"\xff\xfe\xc3(")


def write_bad_files(
    out: Path,
    names: Iterator[str],
    *,
    seed: int,
    fmt: str,
    start_ms: int,
    end_ms: int,
    account_id: str,
    config_id: str,
    compression: str,
    gzip_file: bool,
    encryptor: Encryptor | None,
    attack_ratio: float,
) -> list[Path]:
    """Write the broken-input files; ``names`` yields the next file names in sequence."""
    rng = random.Random(f"wafpipe-sample:{seed}:bad")
    evs = list(EventGenerator(rng, start_ms, end_ms, 300, max(attack_ratio, 0.2)).events())

    def write(body: Iterator[bytes], first: int, last: int, *, checksum: str | None = None,
              truncate: bool = False, kind: str = fmt, comp: str = compression) -> Path:
        return write_imperva_file(
            out / next(names), body, account_id=account_id, config_id=config_id, fmt=kind, start_ms=first,
            end_ms=last, compression=comp, gzip_file=gzip_file, encryptor=encryptor, checksum=checksum,
            truncate=truncate,
        )

    paths: list[Path] = []
    # 1. checksum mismatch: a plausible MD5 that is not the body's
    batch = evs[:40]
    wrong = hashlib.md5(f"not this body {seed}".encode(), usedforsecurity=False).hexdigest()
    body = encode_lines(render(fmt, batch, batch[-1].start))
    paths.append(write(body, batch[0].start, batch[-1].start, checksum=wrong))
    # 2. compressed body cut short (zlib even under --compression none: the case is about compression)
    batch = evs[40:200]
    body = encode_lines(render(fmt, batch, batch[-1].start))
    paths.append(write(body, batch[0].start, batch[-1].start, truncate=True,
                       comp="zlib" if compression == "none" else compression))
    # 3. a sound container around broken lines
    batch = evs[200:]
    paths.append(write(_bad_lines_body(fmt, batch, rng, start_ms, end_ms), batch[0].start, batch[-1].start))
    if fmt == "w3c":
        aa, times = attack_analytics_lines(rng, start_ms, end_ms)
        paths.append(write(encode_lines(aa), times[0], times[-1], kind="cef"))
    return paths
