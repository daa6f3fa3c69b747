"""The sample generator (DESIGN §4): valid, reproducible, format-consistent Imperva files.

Every file is read back through the real reader (:class:`FileReader`: the container, then the
native core's inflate, line splitting, decoders and mapping), so these tests also prove that the
generated quirks are ones the pipeline accepts, and that the broken cases of ``--bad-input`` are the
ones it must report. The records compared here are the core's decode of the lines the reader read
(:func:`tests.decode.core.decode_lines`), checked to agree with what the reader made of each line.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.decode.core import Record, decode_lines, item_lines
from wafpipe.cli import app
from wafpipe.decode.reader import Problem, read_path
from wafpipe.errors import CompressionError, ContainerError, DecodeError, MissingKeyError
from wafpipe.imperva.container import BodyLine, FileInfo, ImpervaFile
from wafpipe.model import Event
from wafpipe.tools.generate import generate_files, keygen

START = datetime(2024, 6, 10, 6, 0, tzinfo=UTC)
END = datetime(2024, 6, 10, 7, 0, tzinfo=UTC)
START_MS, END_MS = int(START.timestamp() * 1000), int(END.timestamp() * 1000)
NAME_RE = re.compile(r"^(\d+)_(\d+)\.log(\.gz)?$")
MAX_LINE_BYTES = 1 << 20  # the reader's default max_line_bytes


@dataclass
class Read:
    """One file read back: container info, decoded records, raw lines, decode failures."""

    info: FileInfo
    records: list[Record] = field(default_factory=list)
    lines: list[BodyLine] = field(default_factory=list)
    errors: list[tuple[BodyLine, DecodeError]] = field(default_factory=list)


def _plain_lines(path: Path, keys: Path | None, compression: str | None) -> list[BodyLine]:
    """The body's lines read the plain way, independently of the core: the container's decrypted
    body (:meth:`ImpervaFile.compressed_body`), inflated here with :mod:`zlib`, split on LF by
    version 1's rules (blank lines take no ordinal, a CR before the LF is dropped, a line over
    ``max_line_bytes`` keeps its head; a line a fault cut short has full length -1). It holds the
    W3C directives, for which the reader yields nothing."""
    f = ImpervaFile.from_path(path, keys_dir=keys)
    data = b""
    try:
        for chunk in f.compressed_body():
            data += chunk
    except ContainerError:
        pass  # the reader reports it (info.error); the bytes before the fault still count
    text, complete = data, True
    if compression in ("zlib", "gzip", "deflate"):
        wbits = {"zlib": 15, "gzip": 31, "deflate": -15}[compression]
        out = []
        while data:
            d = zlib.decompressobj(wbits)
            try:
                out.append(d.decompress(data))
            except zlib.error:
                complete = False
                break
            complete = d.eof
            if not complete:
                break
            data, wbits = d.unused_data, 47  # a concatenated zlib or gzip stream
        text = b"".join(out)
    lines: list[BodyLine] = []

    def keep(piece: bytes, line_no: int, offset: int) -> None:
        raw, full, digest = piece, 0, ""
        if len(piece) > MAX_LINE_BYTES:
            raw, full, digest = piece[:MAX_LINE_BYTES], len(piece), hashlib.sha256(piece).hexdigest()
        raw = raw.removesuffix(b"\r")
        if raw.strip(b" \t"):
            lines.append(BodyLine(len(lines), line_no, offset, raw, full, digest))

    pieces = text.split(b"\n")
    tail = pieces.pop()
    offset = 0
    for line_no, piece in enumerate(pieces, 1):
        keep(piece, line_no, offset)
        offset += len(piece) + 1
    if tail and not complete:
        lines.append(BodyLine(len(lines), len(pieces) + 1, offset, tail[:MAX_LINE_BYTES], -1, ""))
    elif tail:
        keep(tail, len(pieces) + 1, offset)
    return lines


def read(path: Path, keys: Path | None = None) -> Read:
    reader = read_path(path, keys_dir=keys)
    items = list(reader.items())
    info = reader.info
    out = Read(info)
    # The lines the reader yielded something for, and every line read the plain way: the same
    # lines, plus the W3C directives (no event, no problem).
    seen = {bl.ordinal: bl for bl in item_lines(items)}
    by_ordinal = {
        i.doc["imperva"]["waf"]["file"]["ordinal"] if isinstance(i, Event) else i.ordinal: i
        for i in items
        if isinstance(i, Event) or i.ordinal is not None
    }
    out.lines = _plain_lines(path, keys, info.compression)
    assert len(out.lines) == info.lines
    for bl in out.lines:
        got = seen.pop(bl.ordinal, None)
        assert got == bl or (got is None and bl.raw.startswith(b"#")), (bl[:3], got and got[:3])
    assert not seen, f"lines the plain reading does not have: {sorted(seen)}"
    if not out.lines:
        return out
    fmt = info.header.get("format", "cef").lower()
    assert reader.detected_format == fmt
    # The core's records of the lines the reader decoded (a line the container's fault cut short
    # is not decoded: a cut_line problem), each checked against what the reader made of it.
    decoded = [bl for bl in out.lines if bl.full_length != -1]
    texts = []
    for bl in decoded:
        item = by_ordinal.get(bl.ordinal)
        if isinstance(item, Event):
            texts.append(item.doc["event"]["original"])  # the text the reader decoded
        else:
            texts.append(bl.raw.decode("utf-8", "replace"))
    for bl, got in zip(decoded, decode_lines(fmt, info.header, texts), strict=True):
        item = by_ordinal.get(bl.ordinal)
        if isinstance(got, DecodeError):
            assert isinstance(item, Problem) and item.kind == "decode", (bl.ordinal, got, item)
            assert (item.reason, item.column, item.hint) == (got.reason, got.column, got.hint)
            out.errors.append((bl, got))
        elif got is None:
            assert item is None, (bl.ordinal, item)  # a directive
        else:
            assert isinstance(item, Event), (bl.ordinal, item)
            assert item.doc["imperva"]["waf"].get("event_name") == got.name
            out.records.append(got)
    return out


def gen(out: Path, **kw: object) -> list[Path]:
    args: dict[str, object] = dict(events=300, files=2, fmt="cef", compression="zlib", gzip_file=False,
                                   encrypt=None, public_key_id="1", attack_ratio=0.2, start=START, end=END,
                                   seed=7, bad_input=False)
    args.update(kw)
    return generate_files(out, **args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(keys dir, public key) of one key pair with publicKeyId 4."""
    d = tmp_path_factory.mktemp("keys")
    return d, keygen(d, "4")


@pytest.fixture(scope="module")
def cef_sample(tmp_path_factory: pytest.TempPathFactory) -> Read:
    """A 2000-event CEF file with the default attack ratio: every quirk must show up in it."""
    [path] = gen(tmp_path_factory.mktemp("cef2000"), events=2000, files=1, seed=1)
    r = read(path)
    assert not r.errors and r.info.checksum_status == "ok"
    return r


# -- reproducibility and consistency ------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [{}, {"fmt": "w3c", "compression": "gzip"}, {"fmt": "leef", "compression": "none", "gzip_file": True}],
)
def test_same_arguments_give_identical_bytes(tmp_path: Path, kw: dict[str, object]) -> None:
    a = gen(tmp_path / "a", **kw)
    b = gen(tmp_path / "b", **kw)
    assert [p.name for p in a] == [p.name for p in b]
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
    c = gen(tmp_path / "c", seed=8, **kw)
    assert [p.read_bytes() for p in c] != [p.read_bytes() for p in a]


def test_encrypted_output_is_deterministic_too(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    _, pub = keys
    a = gen(tmp_path / "a", encrypt=pub, public_key_id="4")
    b = gen(tmp_path / "b", encrypt=pub, public_key_id="4")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_same_names_and_events_in_every_format(tmp_path: Path) -> None:
    reads: dict[str, list[Read]] = {}
    names: dict[str, list[str]] = {}
    for fmt in ("cef", "leef", "w3c"):
        paths = gen(tmp_path / fmt, fmt=fmt, events=600, files=3)
        names[fmt] = [p.name for p in paths]
        reads[fmt] = [read(p) for p in paths]
        assert all(not r.errors and r.info.checksum_status == "ok" for r in reads[fmt])
        assert [r.info.header["format"] for r in reads[fmt]] == [fmt.upper()] * 3
    assert names["cef"] == names["leef"] == names["w3c"]

    def seq(fmt: str, key: str) -> list[str | None]:
        values = [rec.ext.get(key) for r in reads[fmt] for rec in r.records]
        if key == "ccode":  # CEF's bracketed ccode=[US] quirk
            values = [v.strip("[]") if v else v for v in values]
        return values

    for key in ("deviceexternalid", "start", "src", "fileid", "act", "request", "qstr", "xff", "cn1", "cs9",
                "requestclientapplication", "postbody", "ref", "cicode", "customer", "ccode", "sip", "spt", "in",
                "filetype", "filepermission", "cs4", "cs5", "cs6", "dproc"):
        cef, leef, w3c = seq("cef", key), seq("leef", key), seq("w3c", key)
        assert len(cef) == 600
        assert cef == leef, key
        # W3C drops empty values ("" is absent), nothing else
        assert [v or None for v in cef] == [v or None for v in w3c], key
    names_seq = {fmt: [rec.name for r in reads[fmt] for rec in r.records] for fmt in reads}
    assert names_seq["cef"] == names_seq["leef"] == names_seq["w3c"]
    cef_sev = [rec.severity if rec.name != "Normal" else None for r in reads["cef"] for rec in r.records]
    assert cef_sev == [rec.severity for r in reads["w3c"] for rec in r.records]
    assert all(rec.severity is None for r in reads["leef"] for rec in r.records)  # LEEF has no rule-type id
    # headers agree except for the format and the checksum of the body text
    for i in range(3):
        hc, hw = reads["cef"][i].info.header, reads["w3c"][i].info.header
        assert {k: hc[k] for k in ("accountid", "configid", "starttime", "endtime")} == {
            k: hw[k] for k in ("accountid", "configid", "starttime", "endtime")
        }


def test_each_format_carries_only_its_own_fields(tmp_path: Path) -> None:
    [leef] = gen(tmp_path / "leef", fmt="leef", events=400, files=1)
    [w3c] = gen(tmp_path / "w3c", fmt="w3c", events=400, files=1)
    leef_text = "\n".join(bl.raw.decode() for bl in read(leef).lines)
    for cef_only in ("deviceFacility=", "ccode=", " request=", " app=", " act=", "sip=", "spt=", " cpt=", " ver="):
        assert cef_only not in leef_text
    for leef_key in ("popName=", "calCountryOrRegion=", "url=", "proto=", "cat=", "dst=", "dstPort=", "srcPort=",
                     "protoVer="):
        assert leef_key in leef_text
    assert not re.search(r"^LEEF:0\|Incapsula\|SIEMintegration\|0\|[^|]*\|-?\d+\|", leef_text, re.M)
    r = read(w3c)
    directives = [bl.raw.decode() for bl in r.lines[:4]]
    assert directives[0] == "#Software: Incapsula LOGS API" and directives[1] == "#Version: 1.1"
    assert re.fullmatch(r"#Date: \d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d", directives[2])
    fields = directives[3].removeprefix("#Fields: ").split(" ")
    assert len(fields) == 41
    for absent in ("c-port", "cs-end", "cs-protver", "s-sitetag", "cs-ruleInfo"):
        assert absent not in fields
    for bl in r.lines[4:]:
        text = bl.raw.decode()
        assert text.startswith('"') and text.endswith('"')
    access = [rec for rec in r.records if rec.name == "Normal"]
    assert access and all(rec.severity is None for rec in access)  # empty cs-rule / cs-severity


# -- the container ------------------------------------------------------------------------------


def test_names_headers_checksums_and_counts(tmp_path: Path) -> None:
    paths = gen(tmp_path, events=1001, files=4)
    assert len(paths) == 4
    seqs = []
    api_ids = set()
    total = 0
    for p in paths:
        m = NAME_RE.match(p.name)
        assert m and not m.group(3)
        api_ids.add(m.group(1))
        seqs.append(int(m.group(2)))
        raw = p.read_bytes()
        head = raw.split(b"|==|\n", 1)[0].decode().splitlines()
        assert [h.split(":", 1)[0] for h in head] == [
            "accountId", "configId", "checksum", "format", "startTime", "endTime"]
        r = read(p)
        assert r.info.checksum_status == "ok" and re.fullmatch(r"[0-9a-f]{32}", r.info.checksum or "")
        assert r.info.compression == "zlib" and not r.info.encrypted and not r.info.gzip_wrapped
        starts = [int(rec.ext["start"]) for rec in r.records]
        assert starts == sorted(starts)
        assert int(r.info.header["starttime"]) == starts[0]
        assert int(r.info.header["endtime"]) == starts[-1]
        assert all(START_MS <= s <= END_MS for s in starts)
        total += len(r.records)
    assert total == 1001
    assert len(api_ids) == 1
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    assert any(b - a > 1 for a, b in zip(seqs, seqs[1:], strict=False))  # Imperva's sequences skip


def test_encrypted_round_trip(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    keys_dir, pub = keys
    assert pub == keys_dir / "4" / "Public.pem"
    assert (keys_dir / "4" / "Private.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    plain = gen(tmp_path / "plain", events=200, files=2)
    paths = gen(tmp_path / "enc", events=200, files=2, encrypt=pub, public_key_id="4")
    assert [p.name for p in paths] == [p.name for p in plain]
    for p, q in zip(paths, plain, strict=True):
        r = read(p, keys_dir)
        assert r.info.encrypted and r.info.header["publickeyid"] == "4"
        assert r.info.error is None and r.info.checksum_status == "ok" and not r.errors
        # same events, same checksum as the unencrypted file
        assert r.info.checksum == read(q).info.checksum
        assert b"CEF:" not in p.read_bytes()
    # keygen keeps an existing pair: files encrypted for it must stay readable
    before = (keys_dir / "4" / "Private.key").read_bytes()
    assert keygen(keys_dir, "4") == pub and (keys_dir / "4" / "Private.key").read_bytes() == before
    assert (keys_dir / "4" / "Private.key").stat().st_mode & 0o077 == 0
    missing = read(paths[0], tmp_path / "nokeys")
    assert missing.lines == [] and missing.info.error is not None
    with pytest.raises(MissingKeyError):
        list(ImpervaFile.from_path(paths[0], keys_dir=tmp_path / "nokeys").compressed_body())


@pytest.mark.parametrize("compression", ["zlib", "gzip", "none"])
def test_compression_and_gzip_file_wrapping(tmp_path: Path, compression: str) -> None:
    [p] = gen(tmp_path, events=50, files=1, compression=compression, gzip_file=True)
    assert p.name.endswith(".log.gz") and NAME_RE.match(p.name)
    raw = p.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw).startswith(b"accountId:")
    r = read(p)
    assert r.info.gzip_wrapped and r.info.compression == compression
    assert r.info.checksum_status == "ok" and len(r.records) == 50


def test_default_window_is_the_hour_ending_now(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    [p] = gen(tmp_path, events=100, files=1, start=None, end=None)
    after = datetime.now(UTC)
    h = read(p).info.header
    assert int((before - timedelta(hours=1, seconds=1)).timestamp() * 1000) <= int(h["starttime"])
    assert int(h["endtime"]) <= int(after.timestamp() * 1000)


def test_attack_ratio_extremes(tmp_path: Path) -> None:
    [none] = gen(tmp_path / "0", events=200, files=1, attack_ratio=0.0)
    [every] = gen(tmp_path / "1", events=200, files=1, attack_ratio=1.0)
    assert {rec.name for rec in read(none).records} == {"Normal"}
    assert "Normal" not in {rec.name for rec in read(every).records}


@pytest.mark.parametrize(
    "kw",
    [{"events": 1, "files": 2}, {"fmt": "json"}, {"compression": "bz2"}, {"attack_ratio": 1.5},
     {"start": END, "end": START}, {"files": 0}],
)
def test_rejects_arguments_it_cannot_honour(tmp_path: Path, kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        gen(tmp_path, **kw)


# -- quirks ---------------------------------------------------------------------------------


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def test_every_quirk_appears_in_a_2000_event_cef_sample(cef_sample: Read) -> None:
    recs = cef_sample.records
    raw = [bl.raw.decode() for bl in cef_sample.lines]
    text = "\n".join(raw)
    ext = [r.ext for r in recs]
    assert len(recs) == 2000

    def some(pred: object) -> bool:
        return any(pred(e) for e in ext)  # type: ignore[operator]

    # addresses: IPv4 and IPv6 clients, XFF chains of 1–3 mixing both, all in documentation ranges
    srcs = [ipaddress.ip_address(e["src"]) for e in ext]
    assert any(a.version == 4 for a in srcs) and any(a.version == 6 for a in srcs)
    doc = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
    xffs = [e["xff"].split(", ") for e in ext if "xff" in e]
    assert {len(x) for x in xffs} == {1, 2, 3}
    assert any({ipaddress.ip_address(a).version for a in x} == {4, 6} for x in xffs)
    for a in [*srcs, *(ipaddress.ip_address(a) for x in xffs for a in x)]:
        assert any(a in n for n in doc), a
    # ccode: bracketed and duplicated
    assert "ccode=[" in text
    assert sum(1 for r in recs if r.dups and "ccode" in r.dups) >= 5
    # JSON fields, cs11 with leading commas, escapes
    assert all(json.loads(e["cs10"]) for e in ext if "cs10" in e) and some(lambda e: "cs10" in e)
    cs11 = [e["cs11"] for e in ext if "cs11" in e]
    assert any(v.startswith(",,[") for v in cs11)
    assert all(json.loads(v.lstrip(",")) for v in cs11)
    for key in ("additionalreqheaders", "additionalresheaders"):
        assert all(isinstance(json.loads(e[key]), list) for e in ext if key in e) and some(lambda e, k=key: k in e)
    assert re.search(r" qstr=[^ ]*\\=", text)
    assert re.search(r'additionalResHeaders=\[[^\]]*charset\\=', text)
    # unicode in city names, user agents and paths; apostrophe in a city
    assert some(lambda e: not e.get("cicode", "").isascii())
    assert some(lambda e: not e["requestclientapplication"].isascii())
    assert some(lambda e: not e["request"].isascii())
    assert some(lambda e: e.get("cicode") == "Al 'Ayyat")
    # key case variants
    for key in (" fileid=", " fileId=", " requestmethod=", " requestMethod=", " deviceExternalID=",
                " deviceExternalId=", " filetype=", " fileType=", " filepermission=", " filePermission="):
        assert key in text or text.startswith(key.strip()), key
    # header spacing, label order
    assert re.search(r"^CEF:0\|Incapsula\|SIEMintegration\|1\|1\|[^|]+\|-?\d+\| fileI", text, re.M)
    assert re.search(r"^CEF:0\|Incapsula\|SIEMintegration\|1\|1\|[^|]+\|-?\d+\|fileI", text, re.M)
    assert "cs7Label=latitude cs7=" in text
    # cs9 empty, and with empty list entries
    assert " cs9= cs9Label=Rule name" in text
    assert some(lambda e: re.search(r"(^|,),", e.get("cs9", "x")) is not None and e["cs9"] != "")
    # user agents: HTML entity, pipes, an unbalanced leading quote, crawlers
    assert some(lambda e: "&#39;" in e["requestclientapplication"])
    assert some(lambda e: " | " in e["requestclientapplication"])
    assert some(lambda e: e["requestclientapplication"].startswith('"'))
    assert some(lambda e: e.get("dproc") == "Crawler" and "bot" in e["requestclientapplication"].lower())
    # TLS only on HTTPS
    assert all("ver" not in e for e in ext if e["app"] == "HTTP")
    assert some(lambda e: e["app"] == "HTTP") and some(lambda e: "ver" in e)
    # older lines without end / cpt / deviceFacility
    assert some(lambda e: "end" not in e and "cpt" not in e and "devicefacility" not in e)
    # actions and their quirks
    acts = Counter(e["act"] for e in ext)
    for prefix in ("REQ_PASSED", "REQ_CACHED", "REQ_BLOCKED", "REQ_CHALLENGE", "REQ_BAD"):
        assert any(a.startswith(prefix) for a in acts), prefix
    cached = [e for e in ext if e["act"].startswith("REQ_CACHED")]
    assert any(e.get("sip") == "0.0.0.0" and e.get("spt") == "0" for e in cached)
    assert all(e.get("sip") in (None, "0.0.0.0") for e in cached)
    closed = [e for e in ext if e["act"] == "REQ_BAD_CLIENT_CLOSED_CONNECTION"]
    assert closed and all("cn1" not in e and "in" not in e for e in closed)


def test_attack_mix_names_and_ids_agree(cef_sample: Read) -> None:
    pairs = Counter((r.name, r.severity) for r in cef_sample.records)
    expected = {"SQL Injection": "0", "Cross Site Scripting": "1", "Illegal Resource Access": "3",
                "Bot Access Control": "4", "DDoS": "8", "Backdoor Protect": "9", "Remote File Inclusion": "10",
                "API Specification Violation": "12", "Account Takeover Protection": "13", "Bad Bot": "14",
                "Blocked country": "-1", "Normal": "0"}
    for name, sev in expected.items():
        assert pairs[(name, sev)] > 0, name
    incap = {(n, s) for n, s in pairs if n and n.startswith("IncapRules(")}
    assert incap and all(s == "11" for _, s in incap)
    for (name, sev), _ in pairs.items():
        assert name in expected and expected[name] == sev or (name or "").startswith("IncapRules(")
    security = sum(c for (n, _), c in pairs.items() if n != "Normal")
    assert 0.15 < security / 2000 < 0.25  # --attack-ratio 0.2
    texts = [(r.ext.get("qstr", "") + " " + r.ext.get("postbody", "")) for r in cef_sample.records]
    for payload in ("' OR 1=1--", "<script>alert(1)</script>", "../../etc/passwd"):
        assert any(payload in t for t in texts), payload
    for r in cef_sample.records:
        if r.name == "Normal":
            assert "filetype" not in r.ext and "cs9" not in r.ext


# -- broken input ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["cef", "leef", "w3c"])
def test_bad_input_adds_each_broken_case_and_leaves_valid_files_alone(tmp_path: Path, fmt: str) -> None:
    good = gen(tmp_path / "good", fmt=fmt, events=100, files=2)
    paths = gen(tmp_path / "bad", fmt=fmt, events=100, files=2, bad_input=True)
    assert [p.name for p in paths[:2]] == [p.name for p in good]
    assert [p.read_bytes() for p in paths[:2]] == [p.read_bytes() for p in good]
    seqs = [int(NAME_RE.match(p.name).group(2)) for p in paths]  # type: ignore[union-attr]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    reads = [read(p) for p in paths[2:]]
    statuses = Counter(r.info.checksum_status for r in reads)
    assert statuses["mismatch"] == 1
    truncated = [r for r in reads if isinstance(r.info.error, CompressionError)]
    assert len(truncated) == 1 and truncated[0].records  # events before the fault survive
    bad_lines = [r for r in reads if r.errors and r.info.error is None]
    assert len(bad_lines) == 1
    r = bad_lines[0]
    assert r.info.checksum_status == "ok"
    assert len(r.errors) >= 3  # lines that do not decode
    raws = [bl.raw for bl in r.lines]
    assert any(b"\xff\xfe" in x for x in raws)  # non-UTF-8
    assert any(b"\x0b" in x and b"\x1c" in x for x in raws)  # control characters
    assert any(b"\xc2\x85" in x or "\u2028".encode() in x for x in raws)  # splitlines() breakers
    assert any(bl.full_length > (1 << 20) for bl in r.lines)  # over max_line_bytes
    assert any(not _is_ip(rec.ext.get("src", "0.0.0.0")) for rec in r.records)
    aa = [rec for x in reads for rec in x.records if rec.vendor == "Imperva Inc"]
    assert len(aa) >= 3 and all(rec.product == "Attack Analytics" for rec in aa)
    assert {rec.severity for rec in aa} == {"MAJOR"}


# -- CLI ------------------------------------------------------------------------------------


def test_cli_generate_and_keygen(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["generate", "--keygen", str(tmp_path / "keys"), "--public-key-id", "2"])
    assert res.exit_code == 0, res.output
    pub = tmp_path / "keys" / "2" / "Public.pem"
    assert pub.is_file()
    res = runner.invoke(app, [
        "generate", "--out", str(tmp_path / "out"), "--events", "120", "--files", "3", "--format", "leef",
        "--start", "2024-06-10T06:00:00Z", "--end", "2024-06-10T07:00:00Z", "--seed", "5",
        "--encrypt", str(pub), "--public-key-id", "2", "--gzip-file",
    ])
    assert res.exit_code == 0, res.output
    files = sorted((tmp_path / "out").glob("*.log.gz"))
    assert len(files) == 3
    total = 0
    for p in files:
        r = read(p, tmp_path / "keys")
        assert r.info.encrypted and r.info.gzip_wrapped and r.info.checksum_status == "ok" and not r.errors
        total += len(r.records)
    assert total == 120
