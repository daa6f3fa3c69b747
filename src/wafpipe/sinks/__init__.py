"""Sinks: where ECS events go. One package per type; :mod:`.registry` lists them."""

from wafpipe.sinks.base import DeadLetter, Event, Sink, WriteResult

__all__ = ["DeadLetter", "Event", "Sink", "WriteResult"]
