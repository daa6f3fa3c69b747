"""Inputs: Imperva files, the peer vectors, drawn lines, hostile and damaged files."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


# ==================================================================================== inputs
def write_imperva_file(
    path: Path, body: bytes, *, header: dict[str, str] | None = None, compression: str = "none"
) -> Path:
    """An Imperva file: ``header`` lines (``name:value``; a ``checksum`` of the body is added when
    the header has none), ``|==|``, the body compressed (``zlib``, ``gzip``) or not. No header:
    the body alone."""
    packed = body
    if compression != "none":
        c = zlib.compressobj(6, zlib.DEFLATED, {"zlib": 15, "gzip": 31}[compression])
        packed = c.compress(body) + c.flush()
    head = b""
    if header is not None:
        fields = {"checksum": hashlib.md5(body, usedforsecurity=False).hexdigest(), **header}
        head = "".join(f"{k}:{v}\n" for k, v in fields.items()).encode() + b"|==|\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head + packed)
    return path


def inflate_body(body: bytes) -> tuple[bytes, bool]:
    """A body's decoded bytes and whether it decoded to its end: zlib and gzip streams one after
    another, raw deflate, or plain text (Python's zlib, independent of the core's inflater; raw
    deflate has no magic bytes, so bytes that fail it at once are plain text, as the core guesses)."""
    zlib_header = len(body) > 1 and body[0] == 0x78 and (body[0] << 8 | body[1]) % 31 == 0
    if not body or zlib_header or body[:2] == b"\x1f\x8b":
        wbits = 47
    elif all(32 <= b < 127 or b in b"\t\r\n" for b in body[:64]):
        return body, True
    else:
        wbits = -15
    out = b""
    while body:
        d = zlib.decompressobj(wbits)
        try:
            out += d.decompress(body)
        except zlib.error:
            if wbits == -15 and not out:
                return body, True  # not deflate: text with odd first bytes
            return out, False
        if not d.eof:
            return out, False
        body = d.unused_data
    return out, True


def plain_body(path: Path) -> bytes:
    """The decoded body of an unencrypted, not gzip-wrapped Imperva file (e.g. a generated one)."""
    data = path.read_bytes()
    cut = data.find(b"\n|==|\n")
    body, whole = inflate_body(data[cut + 6 :] if cut >= 0 else data)
    assert whole, f"{path}: the body does not inflate to its end"
    return body


def peer_bodies(conformance: Path) -> dict[str, bytes]:
    """The peer vectors (``../shared/conformance``, see its README) as bodies of files: every input
    line of the CEF case lists (base64 inputs decoded, streamed steps joined), of the pipelines'
    test events and of their ``.log`` samples, in a stable order; and the whole Imperva file
    ``elastic-imperva-cloud-waf/test-events.log`` apart."""
    pieces: list[bytes] = []
    for cases in sorted(conformance.glob("*/cases.jsonl")):
        for line in cases.read_text().splitlines():
            case = json.loads(line)
            raw = case.get("input")
            if isinstance(raw, str):
                pieces.append(
                    base64.b64decode(raw) if case.get("input_encoding") == "base64" else raw.encode()
                )
            steps = (case.get("expect") or {}).get("steps") if isinstance(case.get("expect"), dict) else None
            if steps:
                pieces.append("".join(s.get("decode") or "" for s in steps).encode())
    for events in sorted(conformance.glob("*/test-*.json")):
        if events.name.endswith("-expected.json"):
            continue
        for event in json.loads(events.read_text()).get("events", []):
            if isinstance(event.get("message"), str):
                pieces.append(event["message"].encode())
    for log in sorted(conformance.glob("**/*.log")):
        if log.name != "test-events.log":
            pieces.append(log.read_bytes())
    lines = b"\n".join(p.rstrip(b"\n") for p in pieces if p.strip()) + b"\n"
    return {
        "lines": lines,
        "imperva-file": (conformance / "elastic-imperva-cloud-waf" / "test-events.log").read_bytes(),
    }


def peer_files(conformance: Path, folder: Path) -> list[Path]:
    """The peer vectors as input files in ``folder``: their lines declared CEF, declared LEEF and
    without a header, and Elastic's whole Imperva file."""
    bodies = peer_bodies(conformance)
    return [
        write_imperva_file(
            folder / "4242_3.log", bodies["lines"], header={**DEFAULT_HEADER, "format": "CEF"}
        ),
        write_imperva_file(
            folder / "4242_4.log", bodies["lines"], header={**DEFAULT_HEADER, "format": "LEEF"}
        ),
        write_imperva_file(folder / "lines.log", bodies["lines"]),
        write_imperva_file(folder / "test-events.log", bodies["imperva-file"]),
    ]


# Lines for the decoders and the mapping, after tests/native/test_decoders.py's strategies, with
# more keys (every typed one) and values that meet the intended differences.
_KEYS = ["src", "act", "requestClientApplication", "postbody", "cs1", "cs1Label", "cs9", "cs10", "ref", "fileId",
         "foo", "x.y", "a[0]", "_k", "cicode", "ver", "start", "cn1", "popName", "url", "devTimeFormat", "cat",
         "sev", "usrName", "sip", "spt", "cpt", "xff", "end", "caip", "cs7", "cs8", "cs11", "in", "cs2", "date",
         "time", "ccode", "app", "request", "qstr", "requestMethod"]  # fmt: skip
_TYPED_VALUES = ["1700000000", "1700000000000", "0", "4102444800000", "17000000000000000", "\u0661\u0662",
                 "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660", "fe80::1%eth0",
                 "::%lo", "10.0.0.1", "::ffff:1.2.3.4", "1.2.3.4, fe80::2%x, bad", "1.2.3.4,,5.6.7.8",
                 "99999999999999999999", "-9223372036854775809", "9223372036854775807", "1_000", "[" * 128 + "]" * 128,
                 "[" * 127 + "]" * 127, '[{""a"":1}]', ",,{\"b\":[1,2]}", "2024-02-30", "2024-02-29", "06:13:20.5",
                 "25:00:00", "\u0661.5", "-91.5", "45.25", "true", "FALSE", "https", "www.example.com/a.php?x=1"]  # fmt: skip


def _strategies() -> dict[str, Any]:
    from hypothesis import strategies as st

    pieces = st.sampled_from([" ", "  ", "=", "\\", "\\=", "\\\\", "\\n", "\\r", "|", "\\|", "\t", "\r", "\n",
                              "CEF:0|", "LEEF:1.0|", "LEEF:2.0|", "^", "x^", '"', "é", "\ufffd", "a", "1", ",",
                              "[", "]", '{"a":1}', "/", "?", "-"])  # fmt: skip
    value = st.one_of(
        st.lists(st.one_of(pieces, st.text(max_size=4)), max_size=6).map("".join),
        st.sampled_from(_TYPED_VALUES),
    )
    pair = st.tuples(st.sampled_from(_KEYS), value)

    @st.composite
    def cef_line(draw: Any) -> str:
        prefix = draw(st.sampled_from(["", "<14>Jan 1 00:00:00 host ", "junk "]))
        vendor = draw(st.sampled_from(["Incapsula", "Other", "Inc\\|apsula"]))
        name = draw(st.sampled_from(["1", "0", "Normal", "SQL Injection", "IncapRules(7)"]))
        sev = draw(st.sampled_from(["0", "-1", "x", "12", "\u0661\u0662", "99999999999999999999"]))
        header = [
            draw(st.sampled_from(["0", "1", ""])),
            vendor,
            "SIEMintegration",
            "1",
            name,
            draw(value),
            sev,
        ]
        cut = draw(st.sampled_from([4, 5, 6, 7, 7, 7, 7]))  # mostly whole headers: events, not only errors
        pairs = draw(st.lists(pair, max_size=8))
        sep = draw(st.sampled_from([" ", "", "  "]))
        ext = " ".join(f"{k}={v}" for k, v in pairs)
        return (
            prefix
            + "CEF:"
            + "|".join(header[:cut])
            + "|"
            + sep
            + ext
            + draw(st.sampled_from(["", " ", "\r"]))
        )

    @st.composite
    def leef_line(draw: Any) -> str:
        version = draw(st.sampled_from(["1.0", "2.0", "0", "2"]))
        delim = draw(st.sampled_from(["", "^", "x5E", "0x09", "|", "\t"])) if version.startswith("2") else ""
        head = ["LEEF:" + version, "Incapsula", "SIEMintegration", "1", draw(value)]
        if version.startswith("2"):
            head.append(delim)
        sep = {"": "\t", "^": "^", "x5E": "^", "0x09": "\t", "|": "|", "\t": "\t"}[delim]
        sep = draw(st.sampled_from([sep, "\t", "^"]))
        pairs = draw(st.lists(pair, max_size=8))
        tail = draw(st.sampled_from(["", "\t", "\t\t", "^", " "]))
        return "|".join(head) + "|" + sep.join(f"{k}={v}" for k, v in pairs) + tail

    w3c_value = st.one_of(
        st.sampled_from(
            ["-", '"a b"', '""', '"x""y"', "1.2.3.4", "2024-01-01", "12:00:00", "GET", '"', 'a"b']
        ),
        value.filter(lambda v: "\n" not in v),
    )

    @st.composite
    def w3c_lines(draw: Any) -> list[str]:
        columns = draw(st.lists(st.sampled_from(["date", "time", "c-ip", "cs-method", "cs(User-Agent)", "cs-rule",
                                                 "cs-severity", "s-xff", "x-unknown", "cs-uri", "s-ip", "s-port",
                                                 "sc-status", "cs-start"]),
                                min_size=1, max_size=6, unique=True))  # fmt: skip
        lines = ["#Software: Imperva", "#Fields: " + " ".join(columns)]
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            values = [draw(w3c_value) for _ in range(draw(st.integers(0, len(columns) + 1)))]
            lines.append(draw(st.sampled_from([" ", "\t"])).join(values))
        return lines

    return {
        "cef": st.lists(cef_line(), min_size=1, max_size=20),
        "leef": st.lists(leef_line(), min_size=1, max_size=20),
        "w3c": st.lists(w3c_lines(), min_size=1, max_size=5).map(
            lambda groups: [ln for g in groups for ln in g]
        ),
    }


@contextmanager
def _without_local_constants() -> Iterator[None]:
    """Hypothesis mixes literals of the loaded *local* modules (this checkout's ``wafpipe``) into
    what it draws, so the same seed would give other lines after any source edit. Draw without them
    (an internal hook of hypothesis 6.1xx: when it is gone, draws stay valid, only less stable)."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - another hypothesis
        yield
        return
    local = getattr(providers, "_get_local_constants", None)
    if local is None:  # pragma: no cover
        yield
        return
    providers._get_local_constants = Constants  # no local constant
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = local
        providers.CONSTANTS_CACHE.cache.clear()


def draw_lines(fmt: str, examples: int, seed: int) -> list[str]:
    """Lines of ``fmt`` from ``examples`` hypothesis examples, reproducibly for one ``seed`` (and
    one hypothesis version). A W3C example brings its own directives, so they recur mid-file."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    out: list[str] = []
    strategy = _strategies()[fmt]

    @seeded(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def collect(lines: list[str]) -> None:
        out.extend(lines)

    with _without_local_constants():
        collect()
    return out


def lines_body(lines: Iterable[str]) -> bytes:
    """Drawn lines as a body (a line may hold ``\\n`` or ``\\r``: the file splits it as it falls)."""
    return "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"


DEFAULT_HEADER = {
    "accountId": "4242",
    "configId": "77",
    "startTime": "1700000000000",
    "endTime": "1700003600000",
}


def hostile_files(folder: Path) -> list[Path]:
    """Small files whose lines meet every intended difference (and the crashes of version 1 that
    the core fixes): 10-digit and non-ASCII ``start``/``end``, zoned addresses, numbers in other
    scripts and beyond 64 bits, JSON 127 and 128 levels deep, W3C dates and times valid, odd and
    impossible, a severity slot in other digits, a header ``startTime`` in seconds or in 2100 (a
    header is read as ASCII, so other digits cannot reach it), a headerless W3C file whose first
    lines are directives, and two records merged on one line."""
    cef = "CEF:0|Incapsula|SIEMintegration|1|1|{name}|{sev}| "
    deep, too_deep = "[" * 127 + "]" * 127, "[" * 128 + "]" * 128
    arabic = "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660"
    lines = [
        "start=1700000000 end=1700000000123 src=10.0.0.1 sip=10.0.0.2 spt=443",
        f"start={arabic} end=17000000000000000 src=fe80::1%eth0 sip=fe80::2%en0 spt=80",
        "start=1700000000123 sip=::%lo spt=8080 xff=1.2.3.4, fe80::3%x ,bad caip=fe80::9%1",
        "xff=fe80::3%x cn1=99999999999999999999 cpt=-9223372036854775809 in=9223372036854775807",
        "cpt=\u0668\u0660 cs7=\u0661.5 cs8=2 cn1=\u0662\u0660\u0660 spt=\uff18\uff10",
        f'cs10={deep} cs11={too_deep} additionalReqHeaders=[{{""a"":{too_deep}}}]',
        "date=2024-02-30 time=25:00:00",
        "date=2024-02-29 time=06:13:20.5",
        "date=0099-01-01 time=00:00:00.12 start=hello",
        "date=hello time=world",
        "",
    ]
    names = [("Normal", "0"), ("SQL Injection", "\u0661\u0662"), ("Bot Access Control", "99999999999999999999"),
             ("IncapRules(7)", " 12 "), ("Normal", "\u00b2"), ("SQL Injection", "\u00b2"), ("DDoS", "--5")]  # fmt: skip
    body = [cef.format(name=n, sev=s) + line for line in lines for n, s in names[:2]]
    body += [cef.format(name=n, sev=s) + "src=10.1.1.1" for n, s in names]
    body += ["LEEF:1.0|Incapsula|SIEMintegration|1|SQL Injection|" + ln.replace(" ", "\t") for ln in lines]
    out = []
    for name, start_time in [
        ("4242_900.log", "1700000000"),
        ("4242_901.log", "4102444800000"),
        ("4242_902.log", "1700000000000"),
    ]:
        header = {**DEFAULT_HEADER, "format": "CEF", "startTime": start_time}
        out.append(write_imperva_file(folder / name, lines_body(body), header=header, compression="zlib"))
    w3c = [
        "#Software: Imperva",
        "#Fields: date time c-ip s-ip s-port cs-start cs-rule cs-severity s-xff",
        '2024-02-29 06:13:20.5 fe80::1%eth0 ::%lo 80 - "SQL Injection" \u0661\u0662 fe80::2%y,1.2.3.4',
        "2024-02-30 06:13:20 10.0.0.1 10.0.0.2 80 1700000000 Normal 0 -",
        "2023-01-01 24:00:00 10.0.0.1 10.0.0.2 80 - Normal 0 -",
        "2023-01-01 23:59:59.1234 10.0.0.1 10.0.0.2 \u0668\u0660 - Normal 0 -",
        "#Fields: time date c-ip",
        "06:13:20 2024-01-01 10.0.0.3",
        '"06:13:20.05" "2024-01-01" 10.0.0.3',
    ]
    header = {**DEFAULT_HEADER, "format": "W3C", "startTime": "1700000000"}
    out.append(write_imperva_file(folder / "4242_903.log", lines_body(w3c), header=header))
    out.append(write_imperva_file(folder / "w3c-headerless.log", lines_body(w3c)))
    # Two records on one line (a lost line break, a carriage return alone), and a record marker
    # inside a value (an attack payload: data, not a second record).
    leef = "LEEF:1.0|Incapsula|SIEMintegration|1|Normal|src=10.0.0.{}"
    merged = [
        cef.format(name="Normal", sev="0") + "src=10.0.0.1 request=a.example/x " + cef.format(name="Normal", sev="0")
        + "src=10.0.0.2",
        cef.format(name="Normal", sev="0") + "src=10.0.0.3\r" + cef.format(name="Normal", sev="0") + "src=10.0.0.4",
        cef.format(name="SQL Injection", sev="0") + "src=10.0.0.5 qstr=" + cef.format(name="x", sev="0") + "src=1.1.1.1",
        leef.format(6) + "\t" + leef.format(7),
    ]
    header = {**DEFAULT_HEADER, "format": "CEF", "startTime": "1700000000000"}
    out.append(write_imperva_file(folder / "4242_905.log", lines_body(merged), header=header, compression="zlib"))
    return out


def damaged_file(folder: Path) -> Path:
    """A file whose zlib body is damaged in the middle (one byte flipped, as a bad disk or transfer
    does): what is kept before the fault, and how the fault is told."""
    line = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.0.0.{} spt=443 request=www.example.com/{}"
    body = lines_body(line.format(i % 250, i) for i in range(120))
    header = {**DEFAULT_HEADER, "format": "CEF"}
    path = write_imperva_file(folder / "4242_904.log", body, header=header, compression="zlib")
    data = bytearray(path.read_bytes())
    data[len(data) * 2 // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    return path
