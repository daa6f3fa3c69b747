"""The Elasticsearch sink against the test Elasticsearch server (tests/servers): exactly once under
faults, outages, crashes, back-pressure, secrets and TLS. No mocks: real HTTP, real files. What both
engines share (every format once, 409 on replay, namespace routing, mapping rejections) runs against
the stand-in and the real OpenSearch node alike in tests/cluster/test_sink_engines.py.

``WAFPIPE_ES_FAULT_SECONDS`` sets the fault window (default 8 s; 60 s with ``WAFPIPE_SOAK=1``)."""

from __future__ import annotations

import io
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.components import context
from tests.servers.elasticsearch import ElasticsearchServer
from tests.servers.local_process import free_port
from wafpipe.config.root import Config, config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import read_path
from wafpipe.errors import SinkError
from wafpipe.model import Event
from wafpipe.sinks.elasticsearch.setup import run_setup
from wafpipe.sinks.elasticsearch.sink import ClusterSink, build_cluster_sink
from wafpipe.tools.generate import generate_files

START, END = datetime(2024, 6, 10, 6, tzinfo=UTC), datetime(2024, 6, 10, 7, tzinfo=UTC)
DS = "logs-imperva.waf-default"
# every format and compression; one file gzip-wrapped (DESIGN §1)
VARIANTS = [("cef", "zlib", False), ("leef", "gzip", False), ("w3c", "none", False), ("cef", "none", True),
            ("leef", "zlib", False), ("w3c", "gzip", False)]
FAULT_SECONDS = float(os.environ.get("WAFPIPE_ES_FAULT_SECONDS", "60" if os.environ.get("WAFPIPE_SOAK") else "8"))


def generate(root: Path, per_variant: int = 250) -> list[Path]:
    paths: list[Path] = []
    for i, (fmt, comp, wrapped) in enumerate(VARIANTS):
        paths += generate_files(root / f"{fmt}-{comp}-{i}", events=per_variant, files=2, fmt=fmt, compression=comp,
                                gzip_file=wrapped, attack_ratio=0.3, start=START, end=END, seed=100 + i)
    return paths


def events_of(paths: list[Path]) -> list[Event]:
    return [e for p in paths for e in read_path(p).items() if isinstance(e, Event)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Event]:
    events = events_of(generate(tmp_path_factory.mktemp("gen")))
    assert len(events) == 250 * len(VARIANTS) and len({e.id for e in events}) == len(events)
    return events


@pytest.fixture
def es() -> Iterator[ElasticsearchServer]:
    with ElasticsearchServer(refresh_interval=0) as server:
        yield server


def make_config(root: Path, hosts: list[str], **sink: Any) -> Config:
    entry = {"type": "elasticsearch", "hosts": hosts, **sink}
    return config_from_dict({"data_dir": str(root / "data"), "sinks": [entry]}, file=None, base_dir=root)


def make_sink(cfg: Config, **opts: Any) -> ClusterSink:
    sink = build_cluster_sink(cfg.sinks[0], context(cfg))  # type: ignore[arg-type]
    sink.opt.retry_backoff_s, sink.opt.retry_max_backoff_s = 0.05, 0.5
    for k, v in opts.items():
        setattr(sink.opt, k, v)
    return sink


def install(cfg: Config) -> None:
    out = io.StringIO()
    assert run_setup(cfg, dry_run=False, out=out) == 0, out.getvalue()


def write_all(sink: ClusterSink, events: list[Event], size: int = 500) -> None:
    for i in range(0, len(events), size):
        assert sink.write(batch_of(events[i : i + size])).spooled == len(events[i : i + size])


def assert_exactly_once(es: ElasticsearchServer, events: list[Event], target: str = DS) -> None:
    docs = es.documents(target)
    ids = [d.id for d in docs]
    assert len(ids) == len(set(ids)), "duplicates in the cluster"
    assert set(ids) == {e.id for e in events}


def _faults(es: ElasticsearchServer, seconds: float, stop: threading.Event) -> None:
    """A sustained mix: 429s, 503s, resets, a refused port, answers lost after the write, random
    per-item 429/503, slowness; each for a slice of the window."""
    step = seconds / 7
    f = es.faults
    f.bulk_item_failures(0.15, (429, 503), seed=7)
    plan = [lambda: f.fail_for(step, 429, endpoint="bulk"), lambda: f.fail_for(step, 503),
            lambda: f.drop_for(step, reset=True), lambda: f.drop_next(4, after_processing=True),
            lambda: f.slow(0.3, seconds=step), lambda: f.fail_next(5, 502)]
    for arm in plan:
        if stop.is_set():
            return
        arm()
        time.sleep(step)
    es.down()  # connection refused for the last slice
    time.sleep(step)
    es.up()
    f.clear()


def test_sustained_faults_lose_and_duplicate_nothing(
        tmp_path: Path, es: ElasticsearchServer, corpus: list[Event]) -> None:
    cfg = make_config(tmp_path, [es.url], batch_size=150)
    install(cfg)
    sink = make_sink(cfg)
    stop = threading.Event()
    chaos = threading.Thread(target=_faults, args=(es, FAULT_SECONDS, stop), daemon=True)
    chaos.start()
    deadline = time.monotonic() + FAULT_SECONDS
    pieces = [corpus[i : i + 100] for i in range(0, len(corpus), 100)]
    for piece in pieces:  # the collector keeps writing through the faults
        assert sink.write(batch_of(piece)).spooled == len(piece)
        time.sleep(max(0.0, (deadline - time.monotonic()) / len(pieces)))
    chaos.join()
    assert sink.flush(120), sink.stats
    sink.close()
    assert_exactly_once(es, corpus)
    assert sink.stats.failed_requests > 5 and sink.stats.dead_lettered == 0
    # answers lost after the write forced re-sends, which came back 409 and counted as delivered
    assert sink.stats.duplicates > 0 and sink.stats.written + sink.stats.duplicates >= len(corpus)


def test_cluster_down_for_a_whole_run_spools_then_delivers(tmp_path: Path, es: ElasticsearchServer) -> None:
    """The real collector with an ES sink and a DuckDB sink while ES is down: DuckDB gets everything,
    the run ends undelivered (exit 3); the next run, with ES back, delivers exactly once."""
    from wafpipe.collector.pipeline import Collector

    incoming = tmp_path / "incoming"
    files = generate(incoming, per_variant=120)
    events = events_of(files)
    cfg = config_from_dict({
        "data_dir": "data", "sources": [{"type": "directory", "path": "incoming", "recursive": True,
                                         "poll_interval_s": 0.1, "stable_checks": 1}],
        "sinks": [{"type": "duckdb"}, {"type": "elasticsearch", "hosts": [es.url]}],
        "pipeline": {"workers": 1, "batch_size": 200, "drain_timeout_s": 1.0},
    }, file=None, base_dir=tmp_path)
    install(cfg)
    es.down()
    report = Collector(cfg, serve_api=False).run(once=True, progress=False)
    assert report.undelivered and report.exit_code == 3
    assert report.events == len(events)
    con = duckdb.connect(str(tmp_path / "data" / "wafpipe.duckdb"), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT _id) FROM events").fetchone() == (len(events), len(events))
    con.close()
    assert list((tmp_path / "data" / "spool" / "elasticsearch").glob("*.ndjson"))
    es.up()
    report = Collector(cfg, serve_api=False).run(once=True, progress=False)
    assert not report.undelivered and report.exit_code == 0
    assert_exactly_once(es, events)


KILLED_WRITER = """
import pickle, sys
from pathlib import Path
from wafpipe.config.root import config_from_dict
from wafpipe.sinks.elasticsearch.sink import build_cluster_sink
root, port = Path(sys.argv[1]), sys.argv[2]
events = pickle.loads((root / "events.pkl").read_bytes())
cfg = config_from_dict({"data_dir": str(root / "data"),
                        "sinks": [{"type": "elasticsearch", "hosts": [f"http://127.0.0.1:{port}"]}]},
                       file=None, base_dir=root)
sink = build_cluster_sink(cfg.sinks[0], context(cfg))
for i in range(0, len(events), 50):
    sink.write(batch_of(events[i : i + 50]))
    print("acked", i + 50, flush=True)
"""



def test_kill_9_while_writing_loses_and_duplicates_nothing(tmp_path: Path, corpus: list[Event]) -> None:
    """A writer killed at a random moment: everything it was told is durable gets delivered by
    the next process, once."""
    port = free_port()
    (tmp_path / "events.pkl").write_bytes(pickle.dumps(corpus))
    (tmp_path / "w.py").write_text(KILLED_WRITER)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "w.py"), str(tmp_path), str(port)],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    acked = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        acked = int(line.split()[1])
        if acked >= 600:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with ElasticsearchServer(port=port, refresh_interval=0) as es:
        cfg = make_config(tmp_path, [es.url])
        sink = make_sink(cfg)
        sink.open()
        assert sink.flush(60)
        sink.close()
        ids = es.document_ids(DS)
    assert len(ids) == len(set(ids)) >= acked
    assert {e.id for e in corpus[:acked]} <= set(ids) <= {e.id for e in corpus}


def test_torn_spool_tail_is_cut_and_the_rest_delivered(
        tmp_path: Path, es: ElasticsearchServer, corpus: list[Event]) -> None:
    cfg = make_config(tmp_path, [es.url])
    es.down()
    sink = make_sink(cfg)
    write_all(sink, corpus[:300], size=100)
    sink.close()
    segment = max((tmp_path / "data" / "spool" / "elasticsearch").glob("*.ndjson"))
    with open(segment, "ab") as fh:  # a crash in the middle of an append
        fh.write(b'{"create":{"_index":"logs-imperva.waf-default","_id":"torn"}}\n{"@timestamp":"20')
    es.up()
    sink = make_sink(cfg)
    sink.open()
    assert sink.flush(30)
    sink.close()
    assert_exactly_once(es, corpus[:300])


def test_spool_cursor_and_segments_survive_a_restart(tmp_path: Path) -> None:
    """Out-of-order acknowledgements, segment roll-over and deletion, and a restart in the middle."""
    from wafpipe.sinks.common.spool import Spool

    def records(start: int, n: int) -> list[bytes]:
        return [b'{"create":{"_id":"%d"}}\n{"n":%d,"pad":"%s"}\n' % (i, i, b"x" * 900) for i in range(start, start + n)]

    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=16 << 10)
    spool.open()
    for k in range(10):
        spool.append(records(k * 40, 40), timeout=1)
    total = spool.pending_bytes
    assert len(spool.segments()) == 10
    a, b = spool.read(30, 1 << 20, timeout=1), spool.read(30, 1 << 20, timeout=1)
    # one append went to one segment: a is 30 records of segment 1, b the last 10 (never across segments)
    assert a and b and (a.segment, a.start, b.segment, b.start) == (1, 0, 1, a.end)
    assert (a.records, b.records) == (30, 10)
    spool.ack(b)  # ahead of the cursor: remembered, the cursor does not move
    assert spool.pending_bytes == total and spool.segments()[0] == 1
    spool.ack(a)
    assert spool.pending_bytes == total - b.end
    assert spool.segments() == list(range(2, 11))  # segment 1 delivered and deleted
    d = spool.read(40, 1 << 20, timeout=1)
    assert d and (d.segment, d.start, d.records) == (2, 0, 40)
    spool.close()  # d was never acknowledged
    again = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=16 << 10)
    again.open()
    assert again.pending_bytes == total - b.end and again.segments() == list(range(2, 11))
    first = again.read(1000, 1 << 20, timeout=1)
    assert first and (first.segment, first.start, first.body) == (2, 0, d.body)  # d is handed out again
    again.ack(first)
    while (chunk := again.read(1000, 1 << 20, timeout=0.1)) is not None:
        again.ack(chunk)
    assert again.pending_bytes == 0 and again.wait_empty(0)
    again.append(records(999, 1), timeout=1)  # a new segment, numbered after every earlier one
    assert again.segments() == [11]
    again.close()


def test_full_spool_blocks_then_raises_and_drains_when_the_cluster_returns(
        tmp_path: Path, es: ElasticsearchServer, corpus: list[Event]) -> None:
    cfg = make_config(tmp_path, [es.url], spool_max_bytes=1 << 20)
    es.down()
    sink = make_sink(cfg, spool_block_timeout_s=0.5)
    written, t0 = 0, 0.0
    with pytest.raises(SinkError, match="spool .* is full"):
        while True:
            t0 = time.monotonic()
            sink.write(batch_of(corpus[written : written + 50]))
            written += 50
    assert time.monotonic() - t0 >= 0.5  # it waited (back-pressure) before giving up
    assert 0 < sink.pending_bytes <= (1 << 20) + 50 * 8000
    sink.opt.spool_block_timeout_s = 30
    threading.Timer(0.5, es.up).start()
    sink.write(batch_of(corpus[written : written + 50]))  # blocks until the sender frees room
    assert sink.flush(30)
    sink.close()
    assert_exactly_once(es, corpus[: written + 50])


def test_secrets_never_reach_logs_or_errors(tmp_path: Path, corpus: list[Event], caplog: pytest.LogCaptureFixture,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    with ElasticsearchServer(api_key="right-key-1234567890", refresh_interval=0) as es:
        monkeypatch.setenv("ES_KEY", "wrong-key-0987654321")
        url = es.url.replace("http://", "http://someone:url-password-42@")
        cfg = make_config(tmp_path, [url], api_key_env="ES_KEY")
        sink = make_sink(cfg)
        sink.write(batch_of(corpus[:20]))
        assert not sink.flush(2)  # 401: kept in the spool, retried
        assert "401" in (sink.stats.last_error or "")
        sink.close()
        text = caplog.text + repr(sink.stats) + sink.client.display
        assert "wrong-key-0987654321" not in text and "url-password-42" not in text
        monkeypatch.setenv("ES_KEY", "right-key-1234567890")
        sink = make_sink(make_config(tmp_path, [es.url], api_key_env="ES_KEY"))
        sink.open()
        assert sink.flush(30)
        sink.close()
        assert_exactly_once(es, corpus[:20])
    with ElasticsearchServer(basic_auth=("elastic", "pw-secret-777"), refresh_interval=0) as es:
        monkeypatch.setenv("ES_PW", "pw-secret-777")
        sink = make_sink(make_config(tmp_path / "b", [es.url], username="elastic", password_env="ES_PW"))
        sink.write(batch_of(corpus[:10]))
        assert sink.flush(30)
        sink.close()
        assert_exactly_once(es, corpus[:10])
    assert "right-key-1234567890" not in caplog.text and "pw-secret-777" not in caplog.text


def test_cloud_id_selects_the_cloud_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    monkeypatch.setenv("ES_CLOUD", "name:" + base64.b64encode(b"example.com$abcdef$kbn").decode())
    monkeypatch.setenv("ES_KEY", "k")
    cfg = config_from_dict({"data_dir": str(tmp_path), "sinks": [
        {"type": "elasticsearch", "cloud_id_env": "ES_CLOUD", "api_key_env": "ES_KEY"}]}, file=None, base_dir=tmp_path)
    sink = build_cluster_sink(cfg.sinks[0], context(cfg))  # type: ignore[arg-type]
    nodes = [n.config for n in sink.client._es.transport.node_pool.all()]  # type: ignore[attr-defined]
    assert [(n.scheme, n.host, n.port) for n in nodes] == [("https", "abcdef.example.com", 443)]
    assert sink.client.display == "https://abcdef.example.com:443"
    sink.client.close()


# -- TLS: a TLS-terminating proxy (stdlib ssl, a throw-away CA from `cryptography`) in front of the server
def _pki(root: Path) -> tuple[Path, Path, Path, str]:
    """(CA cert, server cert, server key, SHA-256 fingerprint of the server cert)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def cert(subject: str, key: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert("wafpipe test CA", ca_key, "wafpipe test CA", ca_key, True)
    leaf = cert("127.0.0.1", key, "wafpipe test CA", ca_key, False)
    paths = root / "ca.pem", root / "server.pem", root / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return *paths, leaf.fingerprint(hashes.SHA256()).hex()


class TlsProxy:
    def __init__(self, backend: int, cert: Path, key: Path) -> None:
        import ssl

        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.backend = backend
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except OSError:
            conn.close()
            return
        up = socket.create_connection(("127.0.0.1", self.backend))
        threading.Thread(target=self._pump, args=(up, tls), daemon=True).start()
        self._pump(tls, up)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            s.close()


def test_tls_verifies_by_default_and_takes_a_ca_file_or_a_fingerprint(
        tmp_path: Path, es: ElasticsearchServer, corpus: list[Event]) -> None:
    ca, cert, key, fingerprint = _pki(tmp_path)
    proxy = TlsProxy(es.port, cert, key)
    url = f"https://127.0.0.1:{proxy.port}"
    sent = 0
    for n, (opts, ok) in enumerate([({}, False), ({"ca_file": str(ca)}, True),
                                    ({"ssl_assert_fingerprint": fingerprint}, True),
                                    ({"ssl_assert_fingerprint": "00" * 32}, False)]):
        sink = make_sink(make_config(tmp_path / str(n), [url], **opts))
        sink.write(batch_of(corpus[sent : sent + 10]))
        assert sink.flush(10 if ok else 1.5) is ok, (opts, sink.stats.last_error)
        sink.close()
        if ok:
            sent += 10
        else:
            error = (sink.stats.last_error or "").lower()
            assert "certificate verify failed" in error or "fingerprints did not match" in error, error
    proxy.sock.close()
    assert_exactly_once(es, corpus[:sent])
