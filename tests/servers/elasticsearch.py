"""An Elasticsearch 8.x stand-in for tests: a real HTTP server on 127.0.0.1 that speaks ES's request
and response shapes closely enough for the official ``elasticsearch`` 8.x client, unmodified.

In process (fixtures)::

    with ElasticsearchServer() as es:          # random port; api_key=/basic_auth= to require auth
        client = es.client()                    # an elasticsearch.Elasticsearch pointed at it
        es.faults.fail_next(2, 429)             # see faults.Faults for every fault
        es.down(); es.up()                      # refuse connections, then listen on the same port
        es.documents("logs-imperva.waf-default")

Out of process (benchmarks)::

    python -m tests.servers.elasticsearch --port 9200      # prints "READY http://127.0.0.1:9200"

or :class:`ElasticsearchProcess` from Python. Faults are armed over HTTP: ``POST /_fault`` with
``{"action": "fail_next", "n": 2, "status": 429}`` (any :class:`Faults` method), ``POST /_fault/down``
``{"seconds": 2}``, ``GET /_fault/stats``, ``POST /_fault/documents {"target": ...}``.
What is implemented, and how, is described in the modules' docstrings (``es_store``, ``es_mapping``,
``es_templates``, ``es_query``, ``es_http``).
"""

from __future__ import annotations

import argparse
import base64
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from .es_http import EsApp
from .es_store import Cluster
from .faults import Faults
from .http_base import RequestHandler, RequestStats, ServerThread
from .os_alerting import AlertingMonitors
from .os_ism import IsmPolicies

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StoredDocument:
    id: str
    index: str  # the concrete (backing) index
    source: dict[str, Any]
    seq_no: int


class ElasticsearchServer:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | tuple[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        builtin_templates: bool = True,
        refresh_interval: float = 1.0,
        validate_mappings: bool = True,
        version: str = "8.15.0",
        max_content_length: int = 100 * 1024 * 1024,
        ism: bool = False,
        alerting: bool = False,
    ) -> None:
        """``api_key``: the encoded key the client sends (``Authorization: ApiKey <encoded>``) or an
        ``(id, api_key)`` pair. ``refresh_interval``: seconds before a write is searchable without an
        explicit refresh (ES's default is 1 s; 0 makes writes searchable at once). Mapping checks
        cost time: ``validate_mappings=False`` keeps only the data stream ``@timestamp`` rule.
        ``max_content_length``: larger request bodies get 413 (ES's ``http.max_content_length``).
        ``ism``: also answer OpenSearch's ISM policy API (:mod:`tests.servers.os_ism`), which the real
        OpenSearch test node lacks; ``alerting``: also its alerting plugin's monitor API
        (:mod:`tests.servers.os_alerting`), which the node lacks too."""
        if isinstance(api_key, tuple):
            api_key = base64.b64encode(f"{api_key[0]}:{api_key[1]}".encode()).decode()
        self.api_key = api_key
        self.basic_auth = basic_auth
        self.cluster = Cluster(builtin_templates=builtin_templates, refresh_interval=refresh_interval,
                               validate=validate_mappings)
        self.faults = Faults()
        self.stats = RequestStats()
        self.ism = IsmPolicies() if ism else None
        self.alerting = AlertingMonitors() if alerting else None
        self.app = EsApp(self.cluster, self.faults, self.stats, api_key=api_key, basic_auth=basic_auth,
                         version=version, admin_hook=self._admin, max_content_length=max_content_length,
                         ism=self.ism, alerting=self.alerting)
        self._thread = ServerThread(self.app, RequestHandler, host, port)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> ElasticsearchServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop()

    def down(self) -> None:
        """Stop listening and cut open connections: clients get ECONNREFUSED / resets. Data stays."""
        self._thread.stop()

    def up(self) -> None:
        """Listen again on the same port."""
        self._thread.start()

    @property
    def is_up(self) -> bool:
        return self._thread.running

    def __enter__(self) -> ElasticsearchServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return self._thread.host

    @property
    def port(self) -> int:
        return self._thread.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self, **kwargs: Any) -> Elasticsearch:
        """An ``elasticsearch.Elasticsearch`` client for this server (auth filled in)."""
        from elasticsearch import Elasticsearch

        if self.api_key is not None:
            kwargs.setdefault("api_key", self.api_key)
        elif self.basic_auth is not None:
            kwargs.setdefault("basic_auth", self.basic_auth)
        return Elasticsearch(self.url, **kwargs)

    # -- assertions -----------------------------------------------------------------------------
    def request_counts(self) -> dict[str, int]:
        """Requests by endpoint: ``info``, ``bulk``, ``index_template``, ``component_template``,
        ``ilm_policy``, ``data_stream``, ``refresh``, ``count``, ``search``, ``doc``, ``mapping``,
        ``rollover``, ``index``, ``cluster_health``, ``unknown``. Faulted requests count too."""
        return self.stats.counts()

    def request_log(self) -> list[tuple[str, str, str, int]]:
        """(method, path, endpoint, status) per request; status 0 for a dropped connection."""
        return self.stats.log()

    def documents(self, target: str) -> list[StoredDocument]:
        """Every live document behind ``target`` (data stream, index, wildcard), refreshed or not,
        in write order per backing index."""
        with self.cluster.lock:
            indices = self.cluster.resolve(target, ignore_unavailable=True)
            return [StoredDocument(d.id, i.name, d.source, d.seq_no) for i in indices for d in i.live()]

    def document_ids(self, target: str) -> list[str]:
        return [d.id for d in self.documents(target)]

    def get_document(self, target: str, doc_id: str) -> dict[str, Any] | None:
        """The source of ``doc_id`` in any backing index of ``target`` (newest first)."""
        with self.cluster.lock:
            for index in reversed(self.cluster.resolve(target, ignore_unavailable=True)):
                doc = index.docs.get(doc_id)
                if doc is not None:
                    return doc.source
        return None

    def monitors(self) -> dict[str, dict[str, Any]]:
        """The alerting monitors (``alerting=True``), by id, as the plugin answers them."""
        assert self.alerting is not None, "started without alerting=True"
        with self.cluster.lock:
            return self.alerting.monitors()

    def data_streams(self) -> list[str]:
        with self.cluster.lock:
            return sorted(self.cluster.data_streams)

    def backing_indices(self, data_stream: str) -> list[str]:
        with self.cluster.lock:
            return [i.name for i in self.cluster.data_streams[data_stream].indices]

    def mappings(self, target: str) -> dict[str, Any]:
        """Current mappings (with dynamic updates) of the write index of ``target``."""
        with self.cluster.lock:
            indices = self.cluster.resolve(target)
            return indices[-1].mapper.mappings

    def rollover(self, data_stream: str) -> str:
        """Roll ``data_stream`` over (as ILM would); returns the new write index."""
        return self.cluster.rollover(data_stream)[1]

    def refresh(self, target: str = "_all") -> None:
        self.cluster.refresh(target)

    # -- admin endpoint (out-of-process control) ----------------------------------------------------
    def _admin(self, action: str, args: dict[str, Any]) -> dict[str, Any] | None:
        if action == "stats":
            return {"requests": self.request_counts(),
                    "documents": {ds: len(self.documents(ds)) for ds in self.data_streams()}}
        if action == "documents":
            return {"documents": [{"_id": d.id, "_index": d.index, "_source": d.source}
                                  for d in self.documents(str(args["target"]))]}
        if action == "reset_stats":
            self.stats.reset()
            return None
        if action == "down":
            seconds = float(args.get("seconds", 1.0))

            def bounce() -> None:
                time.sleep(0.05)  # let the admin answer go out first
                self.down()
                time.sleep(seconds)
                self.up()

            threading.Thread(target=bounce, daemon=True).start()
            return None
        self.faults.apply(action, args)
        return None


class ElasticsearchProcess:
    """``python -m tests.servers.elasticsearch`` in a child process, for benchmarks and for tests of
    a separate-process collector. ``fault()`` arms faults through ``POST /_fault``."""

    def __init__(self, *args: str, port: int = 0, startup_timeout: float = 20.0) -> None:
        self.args = list(args)
        self.port = port
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> ElasticsearchProcess:
        cmd = [sys.executable, "-m", "tests.servers.elasticsearch", "--port", str(self.port), *self.args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)  # noqa: S603
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.proc.stdout
        assert stdout is not None

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"test Elasticsearch exited with {self.proc.returncode}") from None
                continue
            if line.startswith("READY "):
                self.url = line.split()[1]
                self.port = int(self.url.rsplit(":", 1)[1])
                return self
        self.stop()
        raise RuntimeError("test Elasticsearch did not start in time")

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def fault(self, action: str, **kwargs: Any) -> dict[str, Any]:
        resp = httpx.post(f"{self.url}/_fault/{action}", json=kwargs, timeout=10)
        resp.raise_for_status()
        result: dict[str, Any] = resp.json()
        return result

    def stats(self) -> dict[str, Any]:
        return self.fault("stats")

    def __enter__(self) -> ElasticsearchProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.servers.elasticsearch", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed on the READY line)")
    parser.add_argument("--api-key", help="require 'Authorization: ApiKey <this>'")
    parser.add_argument("--user", help="require basic auth with --user/--password")
    parser.add_argument("--password", default="")
    parser.add_argument("--no-builtin-templates", action="store_true")
    parser.add_argument("--refresh-interval", type=float, default=1.0)
    parser.add_argument("--no-validate", action="store_true", help="skip mapping checks (raw throughput)")
    opts = parser.parse_args(argv)
    server = ElasticsearchServer(
        host=opts.host, port=opts.port, api_key=opts.api_key,
        basic_auth=(opts.user, opts.password) if opts.user else None,
        builtin_templates=not opts.no_builtin_templates, refresh_interval=opts.refresh_interval,
        validate_mappings=not opts.no_validate,
    ).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"READY {server.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
