"""Cross-format property (the core issue): the same generated events as CEF, LEEF and W3C give the
same ECS values. Every field a LEEF or W3C document carries has the value of the CEF document,
except the file/container metadata that DESIGN §1 keeps under ``log.*`` and
``imperva.waf.file.*`` (and ``observer.version``, ``event.original``, ``_id``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.flatten import leaves
from wafpipe.decode.reader import Problem, read_path
from wafpipe.tools.generate import generate_files

START = datetime(2024, 6, 10, 6, 0, tzinfo=UTC)
END = datetime(2024, 6, 10, 7, 0, tzinfo=UTC)
REQUIRED = (
    "@timestamp",
    "event.kind",
    "event.action",
    "source.ip",
    "url.domain",
    "url.path",
    "http.request.method",
    "user_agent.original",
    "imperva.waf.security_event",
)
EXEMPT_PREFIXES = ("log.", "imperva.waf.file.", "_id", "observer.version", "event.original")


def docs(folder: Path, fmt: str, seed: int, events: int, ratio: float) -> list[dict[str, Any]]:
    out = folder / fmt
    generate_files(out, events=events, files=2, fmt=fmt, compression="zlib", gzip_file=False,
                   encrypt=None, public_key_id="1", attack_ratio=ratio, start=START, end=END,
                   seed=seed, bad_input=False)
    result: list[dict[str, Any]] = []
    for path in sorted(out.iterdir(), key=lambda p: int(p.name.split("_")[1].split(".")[0])):
        for item in read_path(path).items():
            assert not isinstance(item, Problem), item.message()
            result.append(item.doc)
    return result


def required_missing(doc: dict[str, Any]) -> list[str]:
    flat = leaves(doc)
    # Events without a user agent or client address exist in real data; the generator always
    # writes them, so here all nine must be present.
    return [f for f in REQUIRED if f not in flat]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), events=st.integers(40, 160), ratio=st.sampled_from([0.0, 0.3, 1.0]))
def test_same_events_same_values_in_every_format(tmp_path_factory: Any, seed: int, events: int, ratio: float) -> None:
    folder = tmp_path_factory.mktemp("xfmt")
    cef = docs(folder, "cef", seed, events, ratio)
    assert len(cef) == events
    for fmt in ("leef", "w3c"):
        other = docs(folder, fmt, seed, events, ratio)
        assert len(other) == events
        for i, (a, b) in enumerate(zip(cef, other, strict=True)):
            assert not required_missing(a) and not required_missing(b), (fmt, i, required_missing(b))
            ca = leaves(a)
            for path, value in leaves(b).items():
                if path.startswith(EXEMPT_PREFIXES):
                    continue
                assert path in ca, f"{fmt} event {i}: {path}={value!r} is not in the CEF document"
                assert ca[path] == value, f"{fmt} event {i}: {path}: CEF {ca[path]!r} != {fmt} {value!r}"
