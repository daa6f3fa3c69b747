"""Redaction benchmark: what ``[redaction]`` costs a decode worker. Not a test: figures, not
assertions.

For each format it generates ``--events`` events into one file (seed 3: the same bytes every run;
about 5 % of the generated requests carry a password-like parameter, a few a card number) and, in
this one run and process, measures the CPU time per event of

* decode — the native core: the file to Batches with their JSON documents (as for a cluster sink);
* redaction — :class:`wafpipe.enrich.redaction.Redactor` on those Batches, default rules;

and reports redaction's cost as a ratio to decoding's, and what the two together leave of the
decode rate. Pin it to one core (``taskset -c 0``) for steady figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from functools import partial
from pathlib import Path

from wafpipe.decode.reader import FileReader
from wafpipe.enrich.redaction import RedactionConfig, Redactor
from wafpipe.tools.generate import generate_files


def measure(path: Path, redactor: Redactor | None) -> tuple[int, float, float]:
    """Events, CPU seconds decoding, CPU seconds redacting."""
    events, decoding, redacting = 0, 0.0, 0.0
    start = time.process_time()
    for batch in FileReader(partial(open, path, "rb"), path.name, batch_rows=10_000).batches("bench"):
        decoded = time.process_time()
        decoding += decoded - start
        if redactor is not None:
            redactor.batch(batch)
        start = time.process_time()
        redacting += start - decoded
        events += len(batch)
    return events, decoding, redacting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--formats", default="cef,leef,w3c")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            [path] = generate_files(Path(tmp) / fmt, events=args.events, fmt=fmt, seed=3)
            measure(path, None)  # warm: the file in the page cache, the user-agent cache filled
            redactor = Redactor(RedactionConfig())
            events, decoding, redacting = measure(path, redactor)
            counts = Counter(redactor.counts)
            print(f"{fmt}: {events} events; decode {events / decoding:,.0f}/s, redaction {events / redacting:,.0f}/s "
                  f"(redaction costs {redacting / decoding:.2f}× decoding; decode + redaction "
                  f"{events / (decoding + redacting):,.0f}/s); replaced {dict(counts)}")


if __name__ == "__main__":
    main()
