"""Sinks: where ECS events go. One package per type; :mod:`.registry` lists them."""

from wafpipe.sinks.base import Sink, WriteResult

__all__ = ["Sink", "WriteResult"]
