"""``wafpipe deadletters replay`` goes through the same core as ingest (issue 18): a replayed line
gets exactly the id and document ingest would have given it, for every dead-letter kind.

A decoder fix cannot be patched into the native core from a test, so it is simulated on the data
side: once a line is dead-lettered, its recorded bytes are replaced (in the state's record) by
bytes that decode — what a fixed decoder would make of the broken ones. The expected event is what
the reader gives for the file with those bytes in that line's place: the id and document an ingest
of them would store, with the file's context (identity, header, W3C columns and directives, path).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.cli.helpers import broken, fix_dead_letter, state_rows, wafpipe, write_config
from tests.filebuilder import body_text, make_file, sample_lines
from tests.servers.elasticsearch import ElasticsearchServer
from wafpipe.decode.reader import read_path
from wafpipe.model import Event
from wafpipe.store.documents import rebuild
from wafpipe.tools.generate import generate_files

GOOD = sample_lines(6)
DS = "logs-imperva.waf-default"


def stored(root: Path) -> dict[str, dict[str, Any]]:
    """id → document in the embedded store (no collector runs)."""
    con = duckdb.connect(str(root / "data" / "wafpipe.duckdb"), read_only=True)
    try:
        return dict(rebuild(con.sql("SELECT * FROM events").to_arrow_table()))
    finally:
        con.close()


def live_dead_letters(root: Path) -> list[tuple[str, dict[str, Any]]]:
    rows = state_rows(root, "SELECT kind, record FROM dead_letters WHERE replayed_at IS NULL ORDER BY id")
    return [(str(k), json.loads(str(r))) for k, r in rows]


def events_at(path: Path, *, as_ingested_from: Path | None = None) -> dict[int, Event]:
    """The events a read of ``path`` gives, by line ordinal. With ``as_ingested_from`` (``path`` is
    then a copy with its lines fixed, under the original's header), as an ingest of the original
    gives them: read from there, with the verdict on its checksum (the original matched its
    checksum; the fixed copy, which keeps the original's header, does not)."""
    events = {e.doc["imperva"]["waf"]["file"]["ordinal"]: e for e in read_path(path).items() if isinstance(e, Event)}
    for e in events.values() if as_ingested_from is not None else ():
        e.doc["log"]["file"]["path"] = str(as_ingested_from)
        e.doc["imperva"]["waf"]["file"]["checksum_status"] = "ok"
    return events


def ingest(root: Path) -> Any:
    return wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root)


def test_a_cef_decode_dead_letter_replays_with_the_id_ingest_would_give(tmp_path: Path) -> None:
    write_config(tmp_path)
    f = tmp_path / "incoming" / "1_1.log"
    # Each broken line is as long as its fix, so the lines after it keep their offsets in the file
    # the expected events are read from.
    fixed_latin = (GOOD[3] + " cs1=M\xfcnchen").encode("latin-1")  # decodes, and is not UTF-8
    bad = broken(GOOD[2]).encode()
    latin = (broken(GOOD[3] + " cs1=M") + "\xfcnchen").encode("latin-1")  # not UTF-8: replayed from its exact bytes
    plain = b"\n".join([GOOD[0].encode(), bad, GOOD[1].encode(), latin]) + b"\n"
    f.write_bytes(make_file(plain))
    assert ingest(tmp_path).returncode == 1
    assert len(stored(tmp_path)) == 2
    dead = live_dead_letters(tmp_path)
    assert [(k, r["ordinal"]) for k, r in dead] == [("decode", 1), ("decode", 3)]
    assert dead[0][1]["context"]["format"] == "cef" and dead[1][1]["raw_base64"]
    # Not fixed yet: still failing, with the reason.
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 1 and "decode: replayed 0, still failing 2" in res.stdout
    # After the fix: the events an ingest of the fixed lines gives, same ids and same documents.
    fix_dead_letter(tmp_path, 1, GOOD[2].encode())
    fix_dead_letter(tmp_path, 3, fixed_latin)
    fixed_file = tmp_path / "expected" / "1_1.log"
    fixed_file.parent.mkdir()
    fixed_plain = plain.replace(bad, GOOD[2].encode()).replace(latin, fixed_latin)
    fixed_file.write_bytes(make_file(fixed_plain, checksum=hashlib.md5(plain).hexdigest()))  # the same header
    expected = events_at(fixed_file, as_ingested_from=f)
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "decode: replayed 2, still failing 0" in res.stdout
    docs = stored(tmp_path)
    assert len(docs) == 4
    for ordinal in (1, 3):
        assert docs[expected[ordinal].id] == expected[ordinal].doc
    assert docs[expected[1].id]["event"]["original"] == GOOD[2]
    assert docs[expected[3].id]["imperva"]["waf"]["original_base64"]
    assert docs[expected[1].id]["log"]["file"]["path"] == str(f)
    assert live_dead_letters(tmp_path) == []
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 0 and "replayed 0, still failing 0" in res.stdout  # not twice


def w3c_lines(where: Path) -> list[str]:
    """The body lines (directives and events) of a generated W3C file."""
    (path,) = generate_files(where, events=3, files=1, fmt="w3c", compression="none", seed=5)
    body = path.read_bytes().split(b"|==|\n", 1)[1].decode()
    return [line for line in body.splitlines() if line]


def test_a_w3c_decode_dead_letter_replays_with_its_columns_and_directives(tmp_path: Path) -> None:
    lines = w3c_lines(tmp_path / "generated")
    data = [i for i, line in enumerate(lines) if not line.startswith("#")]
    good = lines[data[1]]
    lines[data[1]] = good + ' "BROKEN"'  # one value too many: does not decode today
    write_config(tmp_path)
    f = tmp_path / "incoming" / "5_9.log"
    f.write_bytes(make_file(lines, header={"format": "W3C"}))
    checksum = hashlib.md5(body_text(lines)).hexdigest()
    assert ingest(tmp_path).returncode == 1
    ((kind, rec),) = live_dead_letters(tmp_path)
    assert kind == "decode" and "values, expected" in rec["reason"]
    assert rec["context"]["format"] == "w3c" and rec["context"]["w3c_fields"][:2] == ["date", "time"]
    assert rec["context"]["directives"]["Software"] == "Incapsula LOGS API"
    fix_dead_letter(tmp_path, rec["ordinal"], good.encode())
    lines[data[1]] = good
    fixed_file = tmp_path / "expected" / "5_9.log"
    fixed_file.parent.mkdir()
    fixed_file.write_bytes(make_file(lines, header={"format": "W3C"}, checksum=checksum))  # the same header
    expected = events_at(fixed_file, as_ingested_from=f)[rec["ordinal"]]
    assert "directives" not in expected.doc["imperva"]["waf"]["file"]  # a fact of the file, kept once
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 0 and "decode: replayed 1, still failing 0" in res.stdout, (res.stdout, res.stderr)
    docs = stored(tmp_path)
    assert len(docs) == 3 and docs[expected.id] == expected.doc  # W3C decoder, header time, log.*, same id


def test_a_cut_line_replays_once_the_complete_file_is_back(tmp_path: Path) -> None:
    write_config(tmp_path)
    f = tmp_path / "incoming" / "1_7.log"
    complete = make_file(sample_lines(3000))
    f.write_bytes(complete[: len(complete) * 2 // 3])
    assert ingest(tmp_path).returncode == 1
    ((kind, rec),) = live_dead_letters(tmp_path)
    assert kind == "cut_line"
    before = stored(tmp_path)
    # The file is still cut: replay says so and stores nothing.
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 1 and "cut_line: replayed 0, still failing 1" in res.stdout
    assert "still cut short" in res.stdout and len(stored(tmp_path)) == len(before)
    # Fetched again, complete: the whole line, with the id ingest of the complete file gives.
    f.write_bytes(complete)
    expected = events_at(f)[rec["ordinal"]]
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 0 and "cut_line: replayed 1, still failing 0" in res.stdout, (res.stdout, res.stderr)
    docs = stored(tmp_path)
    assert len(docs) == len(before) + 1
    got = docs[expected.id]
    assert got["event"]["original"] == expected.doc["event"]["original"] and len(got["event"]["original"]) > len(rec["raw"])
    assert got == expected.doc


def test_a_file_level_problem_leaves_no_dead_letter_to_replay(tmp_path: Path) -> None:
    """An empty file is reported and counted, but holds no line: nothing is dead-lettered, so a
    replay has nothing left failing forever."""
    write_config(tmp_path)
    (tmp_path / "incoming" / "1_1.log").write_bytes(b"")
    ingest(tmp_path)
    assert not live_dead_letters(tmp_path)
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 0 and "Traceback" not in res.stderr, (res.stdout, res.stderr)


@pytest.fixture
def es() -> Iterator[ElasticsearchServer]:
    with ElasticsearchServer(refresh_interval=0) as server:
        yield server


def test_sink_rejected_documents_go_back_to_their_sink_once_fixed(tmp_path: Path, es: ElasticsearchServer) -> None:
    write_config(tmp_path)
    cfg = tmp_path / "wafpipe.toml"
    cfg.write_text(cfg.read_text().replace('[[sinks]]\ntype = "duckdb"', f'[[sinks]]\ntype = "elasticsearch"\nhosts = ["{es.url}"]'))
    assert wafpipe("elastic", "setup", "-c", "wafpipe.toml", cwd=tmp_path).returncode == 0
    f = tmp_path / "incoming" / "1_1.log"
    f.write_bytes(make_file(GOOD))
    expected = {e.id: e.doc for e in events_at(f).values()}
    es.faults.bulk_item_failures(1.0, (400,))  # every document: document_parsing_exception
    res = ingest(tmp_path)
    assert res.returncode == 1, res.stderr
    dead = live_dead_letters(tmp_path)
    assert [k for k, _ in dead] == ["sink_rejected"] * len(GOOD)
    assert {r["id"] for _, r in dead} == set(expected) and all(r["sink"] == "elasticsearch" for _, r in dead)
    assert es.document_ids(DS) == []
    # The cause is still there: still failing, with the cluster's reason; nothing marked replayed.
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert f"sink_rejected: replayed 0, still failing {len(GOOD)}" in res.stdout
    assert "document_parsing_exception" in res.stdout
    assert len(live_dead_letters(tmp_path)) == len(GOOD)
    # Fixed: every document reaches the cluster under the id ingest gave it, once.
    es.faults.clear()
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert f"sink_rejected: replayed {len(GOOD)}, still failing 0" in res.stdout
    assert sorted(es.document_ids(DS)) == sorted(expected)
    for doc_id, doc in expected.items():
        got = es.get_document(DS, doc_id)
        assert got is not None
        assert {k: v for k, v in got.items() if k != "data_stream"} == doc
    assert live_dead_letters(tmp_path) == []
