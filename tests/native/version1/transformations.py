"""The intended differences of the core from version 1, one named function each."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from tests.native.version1.documents import (
    ASCII_INT,
    LONG_RANGE,
    core_network,
    core_timestamp,
    drop_value,
    epoch_ms,
    get_at,
    header_start_ms,
    remove_at,
    set_at,
)
from tests.native.version1.events import Version1Event, Version1File
from tests.native.version1.ids import event_id, headerless_identity, id_bytes, line_bytes
from tests.native.version1.inputs import inflate_body

# ========================================================================= the transformations
# Each takes version 1's file and one of its events, changes the event into what the core gives
# for it, and returns True when it changed something (the bench counts them). They run in this
# order. One that cannot say exactly what the core does for some input adds the reason to
# ``ev.inexact`` instead of guessing: such lines are compared and reported apart.

Transformation = Callable[[Version1File, Version1Event], bool]


def no_null_values(f: Version1File, ev: Version1Event) -> bool:
    """``native/src/mapping/mod.rs`` (end of the list): where version 1 wrote ``null`` (the vendor
    or product of a foreign record that lacks one, and what follows from it) the core writes
    nothing, since a row holds no null value."""
    changed = False
    for path in (("imperva", "waf", "vendor"), ("imperva", "waf", "product"), ("observer", "vendor"),
                 ("observer", "product"), ("imperva", "waf", "attack_type"), ("rule", "category")):  # fmt: skip
        parent = get_at(ev.doc, path[:-1])
        if isinstance(parent, dict) and path[-1] in parent and parent[path[-1]] is None:
            remove_at(ev.doc, path)
            changed = True
    return changed


def ascii_digits_only(f: Version1File, ev: Version1Event) -> bool:
    """``convert.rs`` difference 1: only ASCII digits are numbers. Python's ``int()``/``float()``
    read other scripts' digits (``'١٢'`` is 12); for a ``long`` or ``double`` field the core
    rejects such a value with the message Python gives for any other non-number: the value goes,
    its raw text is kept under ``imperva.waf.invalid`` with the warning, and what was derived from
    it (``destination.port``, ``source.geo.location``) goes too. (``start``/``end`` are
    :func:`start_end_plausible_epoch_ms`'s, the rule-type id :func:`rule_type_id_ascii_digits`'s.)"""
    changed = False
    for key in f.spec.keys_of("long", "double"):
        raw = ev.typed.get(key, "")
        if not raw or key in ev.keyed or raw.strip().isascii():
            continue
        v = raw.strip()
        if f.spec.fields[key][0] == "long":
            message = "invalid literal for int() with base 10: " + repr(v)[:200]
        else:
            message = "could not convert string to float: " + repr(v)
        drop_value(f, ev, key)
        ev.reject(key, raw, message)
        changed = True
    if changed:
        core_network(f, ev)
    return changed


def long_within_64_bits(f: Version1File, ev: Version1Event) -> bool:
    """``convert.rs`` difference 5: a ``long`` outside the 64-bit range is invalid (version 1 kept
    Python's big integer, which no sink can store): the value goes, raw text and warning
    ``'…' is out of range for a long`` are kept, and what was derived from it goes."""
    changed = False
    for key in f.spec.keys_of("long"):
        value = get_at(ev.doc, f.spec.vendor(key))
        if isinstance(value, int) and value not in LONG_RANGE:
            drop_value(f, ev, key)
            ev.reject(key, ev.typed[key], f"{ev.typed[key]!r} is out of range for a long")
            changed = True
    if changed:
        core_network(f, ev)
    return changed


def _json_depth(value: Any) -> int:
    depth, todo = 0, [(value, 1)]
    while todo:
        node, level = todo.pop()
        if isinstance(node, dict | list):
            depth = max(depth, level)
            todo.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return depth


def _text_depth(text: str) -> int | None:
    """How deep the JSON ``text`` nests (version 1's doubled-quote repair applied when needed);
    None when Python's ``json`` cannot read it."""
    for candidate in (text, text.replace('""', '"')):
        try:
            return _json_depth(json.loads(candidate))
        except RecursionError:
            return 1000
        except ValueError:
            continue
    return None


def json_depth_127(f: Version1File, ev: Version1Event) -> bool:
    """``convert.rs`` difference 6: JSON nested deeper than 127 levels is invalid (serde_json's
    recursion limit; orjson allowed 1024): the parsed value and its ``imperva.waf.raw`` copy go,
    the raw text is kept under ``imperva.waf.invalid`` with ``not valid JSON (kept as text)``.
    Both parsers get the text first and its doubled-quote repair (``""`` → ``"``) second, so the
    depth is the one of the text version 1 read. Inexact when Python's ``json`` cannot read a text
    orjson read (then the depth is not known here)."""
    changed = False
    for key in f.spec.keys_of("json"):
        raw = ev.typed.get(key, "")
        if not raw or key in ev.keyed:
            continue
        if get_at(ev.doc, f.spec.vendor(key)) is None or raw.count("[") + raw.count("{") <= 127:
            continue
        depth = _text_depth(raw.strip().lstrip(",").strip())
        if depth is None:
            ev.inexact.append(f"{key}: version 1 parsed JSON that Python's json module does not")
        elif depth > 127:
            drop_value(f, ev, key)
            remove_at(ev.doc, ("imperva", "waf", "raw", key))
            ev.reject(key, raw, "not valid JSON (kept as text)")
            changed = True
    return changed


def _zoned(member: str) -> bool:
    """Version 1's ``to_ip`` accepts ``member`` and keeps an IPv6 zone id in it."""
    try:
        return "%" in str(ipaddress.ip_address(member.strip().strip("[]")))
    except ValueError:
        return False


def ipv6_zone_dropped(f: Version1File, ev: Version1Event) -> bool:
    """``mod.rs`` difference 4: an IPv6 zone id is not part of an ``ip`` field (Elasticsearch's
    ``ip`` type rejects ``fe80::1%eth0``). For an ``ip`` key (``src``, ``sip``, ``caip``) the
    address is kept without the zone everywhere it went (``source.*``, ``destination.*``,
    ``related.ip``: an origin ``::%lo`` becomes ``::`` and so no destination), with the raw text
    under ``imperva.waf.invalid`` and the warning ``… is an IPv6 address with a zone id, which an
    ip field cannot hold; the address is kept without the zone``. In an ``xff`` chain a zoned
    member is a bad member: ``not IP addresses: …`` lists it, the raw chain is kept, the other
    members stay (none left: no ``xff`` value)."""
    changed = False
    for key in f.spec.keys_of("ip"):
        value = get_at(ev.doc, f.spec.vendor(key))
        if isinstance(value, str) and "%" in value:
            for place in f.spec.places(key):
                set_at(ev.doc, place, value.split("%", 1)[0])
            raw = ev.typed[key]
            ev.reject(key, raw, f"{raw!r} is an IPv6 address with a zone id, which an ip field cannot hold; "
                                "the address is kept without the zone")  # fmt: skip
            changed = True
    for key in f.spec.keys_of("ip_list"):
        raw = ev.typed.get(key, "")
        if "%" not in raw:
            continue
        members = [m for m in re.split(r"\s*,\s*", raw.strip()) if m]
        if not any(_zoned(m) for m in members):
            continue
        good = [str(ipaddress.ip_address(m.strip().strip("[]"))) for m in members if not _zoned(m) and _ip(m)]
        bad = [m for m in members if _zoned(m) or not _ip(m)]
        if good:
            for place in f.spec.places(key):
                set_at(ev.doc, place, good)
        else:
            drop_value(f, ev, key)
        ev.reject(key, raw, f"not IP addresses: {', '.join(bad)}")
        changed = True
    if changed:
        core_network(f, ev)
    return changed


def _ip(member: str) -> bool:
    try:
        ipaddress.ip_address(member.strip().strip("[]"))
    except ValueError:
        return False
    return True


def rule_type_id_ascii_digits(f: Version1File, ev: Version1Event) -> bool:
    """``convert.rs`` differences 1 and 8: the rule-type id a security event takes from the CEF
    severity slot must be ``-?[0-9]+`` (ASCII, whitespace around it ignored) within 64 bits;
    otherwise it comes from the event name, as when the slot holds text. Version 1 took any
    ``str.isdigit()`` text to ``int()`` (``'١٢'`` became 12; ``'²'`` and ``'--5'`` crashed it, see
    :attr:`Version1Event.crash`). The attack type (``imperva.waf.attack_type``, ``rule.category``)
    follows the id, with version 1's tables."""
    if not ev.waf.get("security_event") or ev.severity is None:
        return False
    sev = ev.severity.strip()
    if not sev.lstrip("-").isdigit() or (ASCII_INT.fullmatch(sev) and int(sev) in LONG_RANGE):
        return False  # version 1 did not read the slot, or read it as the core does
    name = ev.waf.get("event_name")
    rule_id: int | None = None
    if name:
        low = name.strip().lower()
        rule_id = 11 if low.startswith("incaprules(") else f.spec.rule_type_by_name.get(low)
    if rule_id is None:
        ev.waf.pop("rule_type_id", None)
    else:
        ev.waf["rule_type_id"] = rule_id
    attack = f.spec.rule_types.get(rule_id) if rule_id is not None else None
    if attack is None and name:
        attack = "Manual rule" if name.lower().startswith("incaprules(") else name
    if attack is None:
        remove_at(ev.doc, ("imperva", "waf", "attack_type"))
        remove_at(ev.doc, ("rule", "category"))
    else:
        ev.waf["attack_type"] = attack
        set_at(ev.doc, ("rule", "category"), attack)
    return True


def start_end_plausible_epoch_ms(f: Version1File, ev: Version1Event) -> bool:
    """``mod.rs`` difference 1: ``start``/``end`` must be plausible epoch milliseconds (ASCII digits,
    2000 ≤ year < 2100). Version 1 read 10 digits or fewer as seconds, any ``str.isdigit()`` text,
    anything before year 10000. Such a value is now invalid: no ``imperva.waf.start``/``event.start``,
    raw text under ``imperva.waf.invalid``, the core's warning; a ``start`` version 1 already
    rejected gets the core's wording. When ``start`` goes, ``@timestamp`` falls back as the core
    does (W3C ``date`` + ``time``, header ``startTime``, ingest time)."""
    changed = False
    start_went = False
    for key in ("start", "end"):
        raw = ev.typed.get(key, "")
        if not raw:
            continue
        verdict = epoch_ms(raw)
        if isinstance(verdict, int):
            continue
        message = f"{key}: {verdict}"
        if key in ev.keyed:
            if ev.keyed[key] != message:
                ev.keyed[key] = message
                changed = True
            continue
        drop_value(f, ev, key)
        ev.reject(key, raw, verdict)
        changed = True
        start_went = start_went or key == "start"
    if start_went:
        core_timestamp(f, ev)
    return changed


def w3c_date_time_validated(f: Version1File, ev: Version1Event) -> bool:
    """``mod.rs`` difference 3: W3C ``date`` + ``time`` (read from the record's ``date``/``time`` keys
    whatever the format) is validated. Version 1 glued the texts (``helloTworldZ``); the core
    needs a real UTC date and time of day: a bad one is kept under ``imperva.waf.invalid.date`` /
    ``.time`` with its warning and ``@timestamp`` falls back to the header's ``startTime``, then
    the ingest time. A valid pair is written in the one form: ``06:13:20.5`` gives
    ``…T06:13:20.500Z`` where version 1 wrote ``…T06:13:20.5Z``."""
    if ev.version1_source != "date_time" or ev.waf.get("timestamp_source") != "date_time":
        return False
    return core_timestamp(f, ev)


def header_start_time_plausible(f: Version1File, ev: Version1Event) -> bool:
    """``mod.rs`` difference 2: the header's ``startTime`` is a ``@timestamp`` fallback only when it
    is plausible epoch milliseconds (ASCII digits, 2000 ≤ year < 2100). Version 1 took any
    ``str.isdigit()`` text as milliseconds (10 digits made a time in January 1970). Otherwise the
    fallback goes on to the ingest time, without a warning."""
    if ev.waf.get("timestamp_source") != "file_start_time" or header_start_ms(f) is not None:
        return False
    return core_timestamp(f, ev)


def headerless_file_identity(f: Version1File, ev: Version1Event) -> bool:
    """``docs/ecs-mapping.md`` "Event ids" / ``native/src/ids.rs``: the identity of a file without an
    Imperva header is the digest of its first *event* line (W3C directives are not events), so a
    file that grows keeps its ids; version 1 digested the whole decoded content. Every id of a
    headerless file therefore differs and is computed again here from the rule."""
    if f.has_header:
        return False
    if f.identity is None:
        f.identity = headerless_identity(line_bytes(ev.doc))
    new = event_id(f.identity, ev.waf["file"]["ordinal"], id_bytes(ev.doc))
    changed = new != ev.id
    ev.id = new
    return changed


_HEADER_SPAN = 1024  # how far after a marker the rest of a header must lie (merged.rs)


def _header_at_or_after(text: bytes, start: int) -> int | None:
    """The offset of the first complete CEF (7 ``|``) or LEEF (5 ``|``) header at or after ``start``:
    the marker, a version (digits, optionally ``.digits``), ``|``, and the header's separators within
    :data:`_HEADER_SPAN` bytes."""
    for m in re.finditer(rb"(CEF|LEEF):([0-9]+(?:\.[0-9]+)?)\|", text[start:]):
        at = start + m.start()
        pipes = 7 if m.group(1) == b"CEF" else 5
        rest = text[start + m.end() - 1 :][:_HEADER_SPAN]
        if rest.count(b"|") >= pipes:
            return at
    return None


def merged_records_reported(f: Version1File, ev: Version1Event) -> bool:
    """``native/src/mapping/merged.rs``: a second complete CEF or LEEF header on a line, beginning a
    record (not right after ``=`` or ``|``, where it is part of a value), is reported: a warning naming
    its column and the likely cause, after the line's own warnings. Version 1 merged the two records
    silently. The event still holds the first record."""
    text = ev.doc["event"].get("original")
    if not isinstance(text, str):
        return False
    data = text.encode()
    first = _header_at_or_after(data, 0)
    if first is None:
        return False
    at = _header_at_or_after(data, first + 4)
    while at is not None and data[at - 1 : at] in (b"=", b"|"):
        at = _header_at_or_after(data, at + 4)
    if at is None:
        return False
    column = len(data[:at].decode("utf-8", "replace")) + 1
    cause = (
        "the file uses carriage returns alone as line breaks" if data[at - 1 : at] == b"\r" else "a line break was lost"
    )
    ev.own.append(
        f"a second record starts at column {column}: two records were merged into one line ({cause}); "
        "the event holds the first, event.original holds both — fix the line breaks at the sender"
    )
    return True


# Version 1 wrote these values twice: under ``imperva.waf`` and in the ECS field that the core
# writes them to only (``docs/ecs-mapping.md`` "A value lives once").
_HELD_BY_ECS = ("client.user_agent", "pop", "city", "start", "end", "request", "referrer", "method",
                "post_body", "status_code", "client_ip", "client_port", "xff")  # fmt: skip
_PER_EVENT_FILE_FIELDS = ("name", "identity", "line", "ordinal", "partial", "checksum_status")


def _file_identity(f: Version1File) -> str:
    """The file identity the core writes on each event (``imperva.waf.file.identity``): the header
    digest (version 1's rule, read by this checkout's container, which computes it unchanged), or
    the first event line's digest for a headerless file."""
    if not f.has_header:
        assert f.identity is not None, "headerless_file_identity runs first"
        return f.identity.hex()
    from wafpipe.errors import ContainerError  # this checkout's, not version 1's (see the module doc)
    from wafpipe.imperva.container import ImpervaFile

    container = ImpervaFile.from_path(f.input)
    with suppress(ContainerError):  # the header is read before any key or ciphertext is needed
        container.compressed_body()
    return container.info.identity.hex()


def _file_verdict(f: Version1File) -> tuple[str, bool]:
    """``imperva.waf.file.checksum_status`` and ``.partial`` of every event of a file with a header
    (the core's first pass, ``native/src/body/check.rs``): the MD5 of the decoded body against the
    header's ``checksum``; ``incomplete`` and partial when the body breaks off. Computed here from
    the file with Python's zlib (version 1 judged the same and reported a mismatch as a problem, but
    did not write the verdict on events); cached on the file."""
    cached = getattr(f, "_verdict", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from wafpipe.errors import ContainerError  # this checkout's container (see the module doc)
    from wafpipe.imperva.container import ImpervaFile

    container = ImpervaFile.from_path(f.input, keys_dir=f.keys_dir)
    try:
        body, whole = inflate_body(b"".join(container.compressed_body()))
    except ContainerError:
        body, whole = b"", False
    checksum = (container.info.checksum or "").strip().lower()
    if not whole:
        verdict = ("incomplete", True)
    elif not checksum:
        verdict = ("absent", False)
    else:
        verdict = ("ok" if hashlib.md5(body).hexdigest() == checksum else "mismatch", False)  # noqa: S324
    f._verdict = verdict  # type: ignore[attr-defined]
    return verdict


def value_lives_once(f: Version1File, ev: Version1Event) -> bool:
    """``docs/ecs-mapping.md`` "A value lives once" (issue 19 item 5): where ECS has a field for a
    key's value, the core writes it there only (version 1 also wrote it under ``imperva.waf``);
    ``sip``/``spt`` are ``destination.*`` whatever they hold (version 1 wrote ``destination`` only
    for a contacted origin, beside ``imperva.waf.origin_*``); the signature id is ``event.code``
    only, the attack type ``rule.category`` only; the raw text of JSON-typed keys is in
    ``event.original`` only (no ``imperva.waf.raw``); the vendor latitude/longitude stay only when
    they form no ``source.geo.location``, the country codes only when there are several; an event
    carries only the per-event file fields (the file's identity added; header, format, api id,
    sequence, compression, encryption and directives are facts of the file, kept once per file)."""
    doc, waf = ev.doc, ev.waf
    for path in (*_HELD_BY_ECS, "signature_id", "attack_type", "raw"):
        remove_at(doc, ("imperva", "waf", *path.split(".")))
    query = waf.pop("query", None)
    if query is not None:
        set_at(doc, ("url", "query"), query)
    origin_ip, origin_port = waf.pop("origin_ip", None), waf.pop("origin_port", None)
    if origin_ip is not None:
        set_at(doc, ("destination", "ip"), origin_ip)
        set_at(doc, ("destination", "address"), origin_ip)
    if origin_port is not None:
        set_at(doc, ("destination", "port"), origin_port)
    if get_at(doc, ("source", "geo", "location")) is not None:
        waf.pop("latitude", None)
        waf.pop("longitude", None)
    if len(waf.get("country_codes") or ()) == 1:
        del waf["country_codes"]
    file = waf["file"]
    for name in [n for n in file if n not in _PER_EVENT_FILE_FIELDS]:
        del file[name]
    file["identity"] = _file_identity(f)
    if f.has_header:
        file["checksum_status"], partial = _file_verdict(f)
        if partial:
            file["partial"] = True
    return True


TRANSFORMATIONS: list[Transformation] = [
    no_null_values,
    ascii_digits_only,
    long_within_64_bits,
    json_depth_127,
    ipv6_zone_dropped,
    rule_type_id_ascii_digits,
    start_end_plausible_epoch_ms,
    w3c_date_time_validated,
    header_start_time_plausible,
    headerless_file_identity,
    merged_records_reported,
    value_lives_once,
]


# Ids do not depend on the document: these apply to a line whose mapping crashed version 1.
ID_TRANSFORMATIONS: list[Transformation] = [headerless_file_identity]

# Intended differences in the problems (kind, line, offset, column, ordinal, reason, hint): one
# function a difference, as above, taking version 1's problem (a dict it may change).
ProblemTransformation = Callable[[Version1File, dict[str, Any]], bool]

_V1_KEPT = " — events before this point were kept; the file is partial"


def fault_reason_counts_kept_events(f: Version1File, problem: dict[str, Any]) -> bool:
    """A container fault says how many events were kept before it (``N event(s) decoded before the
    fault were kept; the file is partial``, or ``no events were decoded before the fault``); version
    1 said ``events before this point were kept`` whatever the number (issue 18, DESIGN §7)."""
    reason = problem.get("reason") or ""
    if problem.get("ordinal") is not None or not reason.endswith(_V1_KEPT):
        return False
    head = reason[: -len(_V1_KEPT)]
    kept = (
        f"{f.events} event(s) decoded before the fault were kept; the file is partial"
        if f.events
        else "no events were decoded before the fault"
    )
    problem["reason"] = f"{head} — {kept}"
    return True


def cut_line_hint_says_replay(f: Version1File, problem: dict[str, Any]) -> bool:
    """A line cut by a container fault is replayed from its dead letter once the complete file is
    back: its hint says so (``fetch the complete file again, then replay the dead letters``);
    version 1 had no replay and said ``fetch the complete file again``."""
    if problem.get("kind") != "cut_line" or problem.get("hint") != "fetch the complete file again":
        return False
    problem["hint"] = "fetch the complete file again, then replay the dead letters"
    return True


PROBLEM_TRANSFORMATIONS: list[ProblemTransformation] = [fault_reason_counts_kept_events, cut_line_hint_says_replay]


def transform(f: Version1File, ev: Version1Event, applied: Counter[str]) -> None:
    """Every transformation, in order, on one event; ``applied`` counts those that changed it."""
    for t in TRANSFORMATIONS if ev.crash is None else ID_TRANSFORMATIONS:
        if t(f, ev):
            applied[t.__name__] += 1
    ev.finish()


