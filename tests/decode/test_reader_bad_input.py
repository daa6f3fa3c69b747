"""DESIGN §7, one test per row: each bad input gets its message, counter and dead-letter record,
and the good lines and files around it still come through."""

from __future__ import annotations

import io
from pathlib import Path

from tests.filebuilder import make_file, make_keys, sample_lines
from wafpipe.decode.reader import FileReader, Problem
from wafpipe.model import Event

GOOD = sample_lines(4)


def run(data: bytes, name: str = "1234_5.log", **kw: object) -> tuple[list[Event], list[Problem], FileReader]:
    reader = FileReader(lambda: io.BytesIO(data), name, **kw)  # type: ignore[arg-type]
    items = list(reader.items())
    return (
        [i for i in items if isinstance(i, Event)],
        [i for i in items if isinstance(i, Problem)],
        reader,
    )


def test_line_that_does_not_decode() -> None:
    bad = "CEF:0|Incapsula|SIEMintegration|1|1"
    events, problems, reader = run(make_file([GOOD[0], bad, GOOD[1]]))
    assert len(events) == 2
    (p,) = problems
    assert p.kind == "decode" and p.line == 2 and p.offset == len(GOOD[0]) + 1
    assert p.raw == bad.encode() and p.column and p.hint
    msg = p.message()
    assert "1234_5.log:2" in msg and f"byte offset {len(GOOD[0]) + 1}" in msg and "column" in msg
    assert reader.counters["problem_decode"] == 1
    assert p.record()["raw"] == bad


def test_checksum_mismatch_still_ingests_and_flags() -> None:
    events, problems, reader = run(make_file(GOOD, checksum="f" * 32))
    assert len(events) == 4
    assert [p.kind for p in problems] == ["checksum"]
    assert "f" * 32 in problems[0].reason
    assert reader.info.checksum_status == "mismatch"


def file_flags(events: list[Event]) -> set[tuple[str | None, bool | None]]:
    return {(e.doc["imperva"]["waf"]["file"].get("checksum_status"), e.doc["imperva"]["waf"]["file"].get("partial"))
            for e in events}


def test_every_event_carries_the_files_verdict_from_the_first_batch_on() -> None:
    """The file is streamed in small Batches, yet its first events already carry the verdict that
    only the body's end decides (DESIGN §1: an event can be judged on its own)."""
    lines = sample_lines(50)
    for checksum, status in (("auto", "ok"), ("F" * 32, "mismatch"), (None, "absent")):
        events, _, reader = run(make_file(lines, checksum=checksum), batch_rows=7)
        assert len(events) == 50 and reader.info.checksum_status == status
        assert file_flags(events) == {(status, None)}, checksum
    events, _, _ = run(make_file(lines, checksum="auto", with_header=False))
    assert file_flags(events) == {(None, None)}  # no header, no checksum: no verdict to carry


def test_truncated_compression_keeps_events_before_the_fault() -> None:
    lines = sample_lines(3000)
    data = make_file(lines)
    events, problems, _ = run(data[: len(data) * 2 // 3])
    kinds = [p.kind for p in problems]
    assert kinds[-1] == "compression" and problems[-1].fatal_to_file
    assert "cut_line" in kinds
    assert 1000 < len(events) < 3000
    assert "partial" in problems[-1].reason
    assert file_flags(events) == {("incomplete", True)}  # the first event already says so


def test_missing_key_quarantines_with_reason(tmp_path: Path) -> None:
    pub = make_keys(tmp_path / "other", "9")
    events, problems, _ = run(make_file(GOOD, public_key=pub, key_id="9"), keys_dir=tmp_path)
    assert events == []
    (p,) = problems
    assert p.kind == "missing_key" and p.fatal_to_file
    assert "publicKeyId 9" in p.message() and "Private.key" in p.message()


def test_bad_ciphertext(tmp_path: Path) -> None:
    pub = make_keys(tmp_path, "1")
    data = make_file(GOOD, public_key=pub)
    _, problems, _ = run(data[:-5], keys_dir=tmp_path)
    assert problems[-1].kind == "decrypt"


def test_non_utf8_and_control_characters_are_kept_with_a_warning() -> None:
    raw = GOOD[0].replace("Atlanta", "Atl\xe9nta").encode("latin-1")
    ctrl = GOOD[1].replace("sqlmap", "sql\x0bmap\x1c")
    body = raw + b"\n" + ctrl.encode() + b"\n"
    events, problems, reader = run(make_file(body))
    assert problems == [] and len(events) == 2
    doc0 = events[0].doc
    assert "\ufffd" in doc0["event"]["original"]
    assert doc0["imperva"]["waf"]["original_base64"]
    assert any("UTF-8" in w for w in doc0["imperva"]["waf"]["warnings"])
    assert "\x0b" in events[1].doc["user_agent"]["original"]
    assert reader.counters["warning_non_utf8"] == 1 and reader.counters["warning_control_chars"] == 1


def test_line_over_max_is_decoded_from_its_head() -> None:
    long = GOOD[0] + " postbody=" + "x" * 3000
    events, problems, reader = run(make_file([long, GOOD[1]]), max_line_bytes=len(GOOD[0]) + 200)
    assert problems == [] and len(events) == 2
    waf = events[0].doc["imperva"]["waf"]
    assert waf["line_truncated"]["length"] == len(long)
    assert len(waf["line_truncated"]["sha256"]) == 64
    assert events[0].doc["source"]["ip"] == "198.51.100.7"
    assert reader.counters["warning_long_line"] == 1


def test_unknown_keys_actions_and_products_pass_through() -> None:
    lines = [
        GOOD[0] + " futureKey=some value",
        GOOD[1].replace("REQ_BLOCKED_SESSION", "REQ_SOMETHING_NEW"),
        "CEF:0|Imperva Inc|Attack Analytics|0|1|Incident: SQLi burst|MAJOR|msg=5 attacks from 1.2.3.4",
    ]
    events, problems, reader = run(make_file(lines))
    assert problems == [] and len(events) == 3
    assert events[0].doc["imperva"]["waf"]["extensions"] == {"futurekey": "some value"}
    assert events[1].doc["imperva"]["waf"]["action"] == "REQ_SOMETHING_NEW"
    aa = events[2].doc
    assert aa["observer"]["product"] == "Attack Analytics"
    assert aa["imperva"]["waf"]["extensions"]["msg"] == "5 attacks from 1.2.3.4"
    assert reader.counters["unknown_key"] >= 2
    assert reader.counters["unknown_action"] == 1
    assert reader.counters["foreign_product"] == 1


def test_invalid_addresses_are_kept_raw_and_reported() -> None:
    line = GOOD[0].replace("src=198.51.100.7", "src=xxx.xxx.31.120").replace(
        "xff=198.51.100.7", "xff=198.51.100.7, not-an-ip"
    )
    events, problems, _ = run(make_file([line]))
    assert problems == []
    waf = events[0].doc["imperva"]["waf"]
    assert waf["invalid"]["src"] == "xxx.xxx.31.120"
    assert "ip" not in events[0].doc.get("source", {})
    assert events[0].doc["network"]["forwarded_ip"] == ["198.51.100.7"]
    assert waf["invalid"]["xff"] == "198.51.100.7, not-an-ip"


def test_good_file_after_bad_file_still_decodes(tmp_path: Path) -> None:
    bad = make_file(GOOD)[:40]
    _, problems, _ = run(bad)
    assert problems
    events, problems, _ = run(make_file(GOOD))
    assert len(events) == 4 and problems == []


def test_a_body_past_max_output_bytes_is_a_bomb_with_the_events_before_it_kept() -> None:
    lines = sample_lines(4000)  # ~2.3 MB of text, compressed well below that
    limit = 1 << 20
    events, problems, reader = run(make_file(lines), max_output_bytes=limit)
    kept = len(events)
    assert 0 < kept < len(lines)
    assert sum(len(line) + 1 for line in lines[:kept]) <= limit
    (bomb,) = [p for p in problems if p.kind == "bomb"]
    assert bomb.fatal_to_file and f"{kept} event(s) decoded before the fault were kept" in bomb.reason
    assert "max_output_bytes" in bomb.reason + bomb.hint
    assert reader.counters["problem_bomb"] == 1
    # Within the bound, the same file is whole.
    events, problems, _ = run(make_file(lines))
    assert len(events) == len(lines) and not [p for p in problems if p.kind == "bomb"]


def test_a_header_over_64_kib_is_said_so_and_its_body_is_not_read_as_text() -> None:
    long_header = {f"x{i:05d}": "v" * 40 for i in range(1500)}  # ~70 KB of name:value lines
    events, problems, reader = run(make_file(GOOD, header=long_header))
    assert events == []
    (p,) = problems
    assert p.kind == "container" and p.fatal_to_file
    assert "header is longer than 65536 bytes" in p.reason and "|==|" in p.hint
    assert not [q for q in problems if q.kind in ("decode", "not_imperva")]


def test_a_long_line_that_does_not_decode_is_dead_lettered_with_its_full_length_and_hash() -> None:
    import hashlib

    long_bad = "CEF:0|Incapsula|SIEMintegration|1|1|" + "x" * 5000  # too few header fields, and long
    events, problems, _ = run(make_file([GOOD[0], long_bad, GOOD[1]]), max_line_bytes=1024)
    assert len(events) == 2
    (p,) = problems
    record = p.record()
    assert p.kind == "decode" and record["raw_bytes"] == 1024 and p.raw == long_bad.encode()[:1024]
    assert record["context"]["full_length"] == len(long_bad)  # type: ignore[index]
    assert record["context"]["full_hash"] == hashlib.sha256(long_bad.encode()).hexdigest()  # type: ignore[index]


def test_a_headerless_file_over_64_kib_is_not_taken_for_a_long_header() -> None:
    lines = sample_lines(200)  # ~110 KB; each CEF line has the shape of a 'name:value' header line
    syslog = [f"Jan  1 00:00:00 host {line}" for line in lines]
    for body in (lines, syslog):
        events, problems, _ = run(make_file(body, with_header=False, compression="none"))
        assert len(events) == len(body) and problems == []


def test_two_records_on_one_line_are_reported() -> None:
    merged = f"{GOOD[1]} {GOOD[2]}"  # a lost line break
    cr_only = (f"{GOOD[0]}\r{GOOD[3]}\r").encode()  # carriage returns alone as line breaks
    events, problems, reader = run(make_file(b"\n".join([GOOD[0].encode(), merged.encode(), cr_only]) + b"\n"))
    assert problems == [] and len(events) == 3
    first, lost, cr = (e.doc["imperva"]["waf"].get("warnings", []) for e in events)
    assert not [w for w in first if "second record" in w]
    assert [w for w in lost if f"a second record starts at column {len(GOOD[1]) + 2}" in w and "line break was lost" in w]
    assert [w for w in cr if "carriage returns alone" in w]
    assert events[1].doc["event"]["original"] == merged  # nothing lost: both records kept in the original
    assert reader.counters["warning_merged_records"] == 2
