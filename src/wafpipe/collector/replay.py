"""``wafpipe deadletters replay``: decode dead-lettered lines again after a fix, and store those that
now decode, with the ids they would have had."""

from __future__ import annotations

from wafpipe.config.root import Config
from wafpipe.errors import WafpipeError
from wafpipe.store.client import find_running


def replay_dead_letters(cfg: Config, kind: str | None) -> tuple[int, int]:
    """Decode dead-lettered raw lines again and store those that now decode, with the ids they
    would have had (file identity from the state, the line's ordinal)."""
    from wafpipe.collector.state.store import State
    from wafpipe.decode.cef import decode_cef
    from wafpipe.decode.leef import decode_leef
    from wafpipe.decode.mapping import FileContext, to_ecs
    from wafpipe.errors import DecodeError
    from wafpipe.imperva.ids import event_id
    from wafpipe.decode.batch import batch_of
    from wafpipe.model import Context, Event
    from wafpipe.sinks.registry import build_sinks

    if find_running(cfg.data_dir) is not None:
        raise WafpipeError("a collector is running; stop it before replaying dead letters")
    replayed, still_bad = 0, 0
    with State(cfg.data_dir) as state:
        records = state.list_dead_letters(limit=1_000_000, kind=kind)
        sinks = build_sinks(cfg, Context(cfg.data_dir, state=state))
        for s in sinks:
            s.open()
        try:
            done: list[int] = []
            for rec in records:
                raw = rec.record.get("raw")
                ordinal = rec.record.get("ordinal")
                file_rec = state.get_file(rec.file_key) if rec.file_key else None
                if not isinstance(raw, str) or ordinal is None or file_rec is None or not file_rec.identity:
                    still_bad += 1
                    continue
                try:
                    record = decode_leef(raw) if raw.lstrip().startswith("LEEF:") else decode_cef(raw)
                except DecodeError:
                    still_bad += 1
                    continue
                doc = to_ecs(record, FileContext(name=file_rec.name, path=file_rec.path), original=raw)
                ev = Event(event_id(bytes.fromhex(file_rec.identity), int(ordinal), raw.encode()), doc)
                for s in sinks:
                    s.write(batch_of([ev], rec.file_key or ""))
                done.append(rec.id)
                replayed += 1
            state.mark_replayed(done)
        finally:
            for s in sinks:
                s.close()
    return replayed, still_bad
