"""Version 1's side: the worker that runs inside version 1's interpreter (it imports nothing of
this checkout's ``wafpipe``), and the subprocess that hosts it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

from tests.native.version1.records import (
    CRASHED,
    NOW_MS,
    PROBLEM_FIELDS,
    ROOT,
    VERSION1_COMMIT,
    Doc,
    _open,
    write_record,
)


# ============================================================================ version 1's side
def version1_worker() -> None:
    """Run in version 1's interpreter (``PYTHONPATH=<worktree>/src``): read jobs from stdin, one
    JSON object a line (``{"out": path, "inputs": [[source, path]…], "keys_dir": path|null}``),
    write each job's output to ``out`` and print ``done <out>``. Nothing of this checkout's
    ``wafpipe`` is imported: the process cannot hold both."""
    import importlib
    import types

    # Version 1's modules (not this checkout's: its layout differs).
    reader = importlib.import_module("wafpipe.reader")
    keys = importlib.import_module("wafpipe.keys")
    FIELDS = importlib.import_module("wafpipe.ecs.fields").FIELDS
    src = Path(reader.__file__).resolve()
    if ROOT in src.parents:
        raise SystemExit(f"version 1 expected, got this checkout's wafpipe ({src}): set PYTHONPATH")
    reader.time = types.SimpleNamespace(time=lambda: NOW_MS / 1000)
    converted = ("long", "double", "boolean", "date", "ip", "ip_list", "json")
    typed_keys = {f.key for f in FIELDS if f.type in converted} | {"date", "time"}
    spec = {
        "fields": {f.key: [f.type, f.path, list(f.ecs)] for f in FIELDS},
        "rule_types": {str(k): v for k, v in keys.RULE_TYPES.items()},
        "rule_type_by_name": dict(keys.RULE_TYPE_BY_NAME),
    }
    version1_to_ecs = reader.to_ecs
    side: dict[str, Any] = {}

    def to_ecs(rec: Any, ctx: Any, *, original: str | None = None) -> Doc:
        side["typed"] = [[k, v] for k, v in rec.ext.items() if k in typed_keys]
        side["severity"] = rec.severity
        try:
            return version1_to_ecs(rec, ctx, original=original)
        except Exception as exc:  # e.g. int('²') of a severity slot: the line still gets its id
            side["crash"] = f"{type(exc).__name__}: {exc}"
            return {"event": {"original": original}, "imperva": {"waf": {}}}

    reader.to_ecs = to_ecs
    version1_make_decoder = reader.make_decoder
    decode_error = importlib.import_module("wafpipe.errors").DecodeError

    def make_decoder(fmt: str, header: dict[str, str] | None = None) -> Any:
        decoder = version1_make_decoder(fmt, header)
        decode = decoder.decode

        def safe(line: str) -> Any:
            try:
                return decode(line)
            except decode_error:
                raise
            except Exception as exc:  # a decoder bug: the line becomes a marked problem, the file goes on
                raise decode_error(f"{CRASHED}{type(exc).__name__}: {exc}") from None

        decoder.decode = safe
        return decoder

    reader.make_decoder = make_decoder
    for job_line in sys.stdin:
        job = json.loads(job_line)
        out_path = Path(job["out"])
        keys_dir = Path(job["keys_dir"]) if job.get("keys_dir") else None
        tmp = out_path.with_name("." + out_path.name)  # renamed when whole
        with _open(tmp, "w") as out:
            write_record(out, {"spec": spec})
            for source, path in job["inputs"]:
                rd = reader.read_path(path, keys_dir=keys_dir)
                info = rd.file.info
                started = False
                for item in rd.items():
                    if not started:  # the header is read by now
                        write_record(out, {"file": _file_record(source, path, info)})
                        started = True
                    if isinstance(item, reader.Problem):
                        problem = {k: getattr(item, k) for k in PROBLEM_FIELDS}
                        if item.reason.startswith(CRASHED):
                            problem["crash"] = item.reason.removeprefix(CRASHED)
                        write_record(out, {"problem": problem})
                        continue
                    event = {"id": item.id, "doc": item.doc, "typed": side.pop("typed")}
                    event["severity"] = side.pop("severity")
                    if "crash" in side:
                        event["crash"] = side.pop("crash")
                    write_record(out, {"event": event})
                if not started:
                    write_record(out, {"file": _file_record(source, path, info)})
                write_record(out, {"end": {"lines": info.lines}})
        tmp.replace(out_path)
        print("done", out_path, flush=True)


def _file_record(source: str, path: str, info: Any) -> dict[str, Any]:
    return {
        "source": source,
        "input": path,
        "name": info.name,
        "has_header": info.has_header,
        "header": dict(info.header),
    }


class Version1:
    """Version 1's worker in a subprocess of this checkout: :meth:`submit` jobs, :meth:`wait` for
    each one's output. ``src`` is the worktree's ``src`` folder."""

    def __init__(self, src: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(src)}
        code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from tests.native.version1 import version1_worker; version1_worker()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            cwd=os.getcwd(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.done: set[str] = set()

    def submit(self, out: Path, inputs: list[tuple[str, str]], keys_dir: Path | None = None) -> None:
        assert self.proc.stdin is not None
        job = {"out": str(out), "inputs": inputs, "keys_dir": str(keys_dir) if keys_dir else None}
        self.proc.stdin.write(json.dumps(job).encode() + b"\n")
        self.proc.stdin.flush()

    def wait(self, out: Path) -> None:
        assert self.proc.stdout is not None
        while str(out) not in self.done:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"version 1's worker ended (exit {self.proc.wait()}) before writing {out}")
            self.done.add(line.decode().removeprefix("done ").strip())

    def close(self) -> None:
        """No more jobs: the worker ends once the submitted ones are written."""
        if self.proc.stdin is not None:
            with suppress(BrokenPipeError):  # the worker has already ended (and said why on stderr)
                self.proc.stdin.close()
        self.proc.wait()


def version1_src(worktree: Path) -> Path:
    """``<worktree>/src``, after checking it is version 1 (``wafpipe/reader.py`` exists there)."""
    src = worktree / "src"
    if not (src / "wafpipe" / "reader.py").is_file():
        raise SystemExit(
            f"{worktree} is not a worktree of version 1 ({VERSION1_COMMIT}): no src/wafpipe/reader.py"
        )
    return src


