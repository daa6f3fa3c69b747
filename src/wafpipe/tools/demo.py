"""``make run``: the demo data set (generated once), ingested, and a summary.

The data set mixes every format and compression, one encrypted file (with its key pair) and one
gzip-wrapped file, so a first look at wafpipe exercises the whole container.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wafpipe.config.root import Config

DEMO_END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DEMO_SPAN = timedelta(hours=2)  # every log configuration's events cover the two hours before the end

# (format, compression, gzip-wrapped, encrypted, events, seed)
DEMO_SET = (
    ("cef", "zlib", False, False, 4000, 11),
    ("cef", "gzip", True, False, 1500, 12),
    ("leef", "zlib", False, False, 1500, 13),
    ("w3c", "none", False, False, 1500, 14),
    ("cef", "zlib", False, True, 1000, 15),
)


def build_demo(directory: Path) -> tuple[Path, Path]:
    """Create ``incoming/`` and ``keys/`` under ``directory`` unless they already exist."""
    from wafpipe.tools.generate import generate_files, keygen

    incoming = directory / "incoming"
    keys = directory / "keys"
    marker = directory / ".generated"
    if marker.exists():
        return incoming, keys
    incoming.mkdir(parents=True, exist_ok=True)
    public = keygen(keys, "1")
    for fmt, compression, wrapped, encrypted, events, seed in DEMO_SET:
        end = DEMO_END  # every log configuration delivers up to the end: `validate` at DEMO_END passes
        generate_files(
            incoming,
            events=events,
            files=2,
            fmt=fmt,
            compression=compression,
            gzip_file=wrapped,
            encrypt=public if encrypted else None,
            public_key_id="1",
            attack_ratio=0.25,
            start=end - DEMO_SPAN,
            end=end,
            seed=seed,
            bad_input=False,
        )
    marker.write_text("generated once; delete this directory to start over\n")
    return incoming, keys


DEMO_CONFIG = """\
# The demo collector: the generated landing directory → the embedded DuckDB store.
data_dir = "data"

[keys]
dir = "keys"

[[sources]]
type = "directory"
path = "incoming"
patterns = ["*.log", "*.log.gz"]

[[sinks]]
type = "duckdb"

[pipeline]
workers = 2
"""


def run_demo(directory: Path) -> int:
    """Generate once, ingest with the collector (``run --once``), print what the store holds."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from wafpipe.collector.logs import setup_logging
    from wafpipe.collector.pipeline import Collector
    from wafpipe.config.root import load_config
    from wafpipe.store.connection import ReadOnlyStore
    from wafpipe.store.service import ReadService
    from wafpipe.tools.summary import EXAMPLE_QUERIES

    build_demo(directory)
    cfg_path = directory / "wafpipe.toml"
    if not cfg_path.exists():
        cfg_path.write_text(DEMO_CONFIG)
    cfg = load_config(cfg_path)
    setup_logging(cfg.logging.format, "warning")
    report = Collector(cfg).run(once=True)
    opened_alerts = _history_correlations(cfg)
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"ingested {report.files_done} file(s) from {directory / 'incoming'}: "
        f"{report.stored} new events, {report.duplicates} already stored; "
        f"{report.files_already_done} file(s) were already done"
    )
    assert cfg.store_path is not None  # the demo configuration has a duckdb sink
    with ReadOnlyStore(cfg.store_path) as opened:
        store = ReadService(opened.cursor)
        stats = store.health()["store"]
        console.print(f"the store holds {stats['events']} events ({stats['security_events']} security events), "
                      f"{stats['first']} … {stats['last']}")
        kinds = Table(title="events by kind")
        kinds.add_column("event.kind")
        kinds.add_column("count", justify="right")
        for row in store.top("event.kind")["values"]:
            kinds.add_row(Text(str(row["value"])), str(row["count"]))
        console.print(kinds)
        attacks = Table(title="attacks by type and outcome")
        attacks.add_column("attack type")
        for outcome in ("failure", "success", "unknown"):
            attacks.add_column(outcome, justify="right")
        security = "imperva.waf.security_event:true"
        for top in store.top("rule.category", security, limit=50)["values"]:
            attack = str(top["value"])
            quoted = '"' + attack.replace("\\", "\\\\").replace('"', '\\"') + '"'
            outcomes = store.top("event.outcome", f"{security} and rule.category:{quoted}")["values"]
            row = {o["value"]: o["count"] for o in outcomes}
            attacks.add_row(Text(str(attack)), *(  # data, never markup
                str(row.get(o, 0)) for o in ("failure", "success", "unknown")))
        console.print(attacks)
    console.print(f"detections: {opened_alerts} correlation alert(s) opened over the demo's history "
                  f"(`wafpipe alerts list -c {cfg_path}`, or the Alerts page)")
    if report.problems:
        console.print(Text(f"problems: {dict(report.problems)}"))
    console.print("\ntry:")
    for q in EXAMPLE_QUERIES:
        console.print(Text(f"  .venv/bin/wafpipe query -c {cfg_path} '{q}'"))
    console.print(f"  .venv/bin/wafpipe query -c {cfg_path} --count")
    return report.exit_code


def _history_correlations(cfg: Config) -> int:
    """The correlation rules over the demo's whole range, as ``wafpipe detect --since`` would run
    them. The collector runs them over the last 45 minutes of *now*, and the demo's events are
    history: without this, its Alerts page would show single-event findings only. Alerts found
    again on a second ``make run`` join the first run's (the state merges them)."""
    from wafpipe.collector.detections import load_detections
    from wafpipe.collector.state.store import State
    from wafpipe.detect import Correlation
    from wafpipe.detect.engine import evaluate
    from wafpipe.store.connection import ReadOnlyStore
    from wafpipe.store.service import ReadService

    correlations = [d for d in load_detections(cfg) if isinstance(d, Correlation)]
    assert cfg.store_path is not None
    with ReadOnlyStore(cfg.store_path) as opened:
        findings = evaluate(ReadService(opened.cursor), correlations, since=DEMO_END - DEMO_SPAN,
                            until=DEMO_END + timedelta(seconds=1))  # fmt: skip
    state = State(cfg.data_dir)
    try:
        return state.record_alerts([f.record() for f in findings])
    finally:
        state.close()
