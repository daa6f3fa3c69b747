"""Sinks: where ECS events go. One package per type; :mod:`.registry` lists them."""

from wafpipe.sinks.base import DeadLetter, Sink, WriteResult

__all__ = ["DeadLetter", "Sink", "WriteResult"]
