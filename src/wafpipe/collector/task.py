"""One decode task: a file from a resume ordinal → Batches, as a worker process (or the collector
itself, with ``workers = 0``) produces them (:mod:`.workers` runs the processes).

Everything per event happens here, in the worker, where the CPU is: decoding (the native core),
redaction (:mod:`wafpipe.enrich.redaction`, before anything else sees the values) and the
single-event detections. The main process receives finished Batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from wafpipe import _native
from wafpipe.decode.batch import BatchBuilder
from wafpipe.decode.reader import FileReader
from wafpipe.detect.batch import BatchDetector
from wafpipe.enrich.redaction import RedactionConfig, Redactor
from wafpipe.failpoints import failpoint
from wafpipe.model import Batch, FileRef


@dataclass
class Task:
    """One file to decode, as it crosses to a worker process: where to read it and from which line."""

    task_id: int
    ref: FileRef
    keys_dir: str | None
    start_ordinal: int = 0
    max_line_bytes: int = _native.DEFAULT_MAX_LINE_BYTES
    fmt: str = "auto"
    max_output_bytes: int = _native.DEFAULT_MAX_OUTPUT_BYTES
    max_ratio: int = _native.DEFAULT_MAX_RATIO
    # A configured sink needs the JSON documents (``Sink.needs_documents``); rendering and moving
    # them is most of a Batch's bytes, so a DuckDB-only collector asks for none.
    documents: bool = True
    # The detections whose single-event rules run on each Batch here (wafpipe.detect.batch).
    detections: tuple[Any, ...] = ()
    # What the Batches lose before they leave the worker (wafpipe.enrich.redaction); None: nothing.
    redaction: RedactionConfig | None = None


def decode_task(task: Task, batch_size: int, batch_timeout_s: float) -> Iterator[Batch]:
    """Decode one file into Batches of at most ``batch_size`` events (or ``batch_timeout_s``),
    through the native core; the last is final and carries the file's verdicts."""
    ref = task.ref
    reader = FileReader(
        partial(open, ref.path, "rb"),
        ref.name,
        ref.path,
        Path(task.keys_dir) if task.keys_dir else None,
        task.fmt,
        task.max_line_bytes,
        task.start_ordinal,
        batch_rows=batch_size,
        documents=task.documents,
        max_output_bytes=task.max_output_bytes,
        max_ratio=task.max_ratio,
    )
    batches = reader.batches(ref.key, batch_timeout_s)
    resume = task.start_ordinal
    detector = _detector(task.detections)
    redactor = _redactor(task.redaction)
    try:
        for batch in batches:
            resume = batch.next_ordinal
            if redactor is not None:
                redactor.batch(batch)  # before the detections: findings quote event values
            if detector is not None and len(batch):
                batch.findings = [f.record() for f in detector.findings(batch.events)]
            final = batch.final
            yield batch
            del batch  # not kept alive while the next one is decoded (issue 20: peak memory)
            if not final:
                failpoint("decode.after_batch")
    except OSError as exc:
        yield BatchBuilder(ref.key, resume, documents=task.documents).build(
            final=True, info=reader.info, format=reader.detected_format, error=f"{exc.strerror or exc}"
        )


_detectors: dict[tuple[str, ...], BatchDetector] = {}


def _detector(detections: tuple[Any, ...]) -> BatchDetector | None:
    """The worker's detector for these rules, built once (a worker decodes file after file)."""
    if not detections:
        return None
    key = tuple(d.id for d in detections)
    if key not in _detectors:
        _detectors.clear()
        _detectors[key] = BatchDetector(list(detections))
    return _detectors[key]


_redactors: dict[str, Redactor | None] = {}


def _redactor(config: RedactionConfig | None) -> Redactor | None:
    """The worker's redactor for ``config``, built once (its hash key read from the environment)."""
    if config is None:
        return None
    key = config.model_dump_json()
    if key not in _redactors:
        _redactors.clear()
        _redactors[key] = Redactor.from_config(config)
    return _redactors[key]
