"""The public API of ``wafpipe`` is what ``__init__`` exports: pinned, so a change is deliberate."""

from __future__ import annotations

from pathlib import Path

import wafpipe
from wafpipe.tools.generate import generate_files

PUBLIC = {
    "Batch",
    "CompressionError",
    "ConfigError",
    "ContainerError",
    "DecodeError",
    "DecryptError",
    "Event",
    "FileInfo",
    "FileRef",
    "MissingKeyError",
    "Problem",
    "QueryError",
    "SinkError",
    "WafpipeError",
    "__version__",
    "parse_file",
}


def test_public_names_are_pinned() -> None:
    assert set(wafpipe.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(wafpipe, name), name
    assert issubclass(wafpipe.DecodeError, wafpipe.WafpipeError)
    assert issubclass(wafpipe.MissingKeyError, wafpipe.ContainerError)


def test_version_is_the_installed_distribution_version() -> None:
    from importlib.metadata import version

    assert wafpipe.__version__ == version("wafpipe")


def test_parse_file_yields_events_with_ids_and_problems(tmp_path: Path) -> None:
    [good] = generate_files(tmp_path / "g", events=50, files=1, fmt="leef", seed=4)
    events = list(wafpipe.parse_file(good))
    assert len(events) == 50 and all(isinstance(e, wafpipe.Event) for e in events)
    assert len({e.id for e in events}) == 50
    bad = tmp_path / "bad.log"
    bad.write_bytes(b"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0|src=1.2.3.4\nnot a cef line\n")
    items = list(wafpipe.parse_file(bad))
    assert any(isinstance(i, wafpipe.Problem) for i in items)
    assert any(isinstance(i, wafpipe.Event) for i in items)
