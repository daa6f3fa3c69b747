"""Sources: where Imperva files come from. One module per type; :mod:`.registry` lists them."""

from wafpipe.sources.base import FileRef, Source, SourceProblem

__all__ = ["FileRef", "Source", "SourceProblem"]
