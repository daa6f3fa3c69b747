"""Sources: where Imperva files come from. One module per type; :mod:`.registry` lists them."""

from wafpipe.model import FileRef
from wafpipe.sources.base import Source

__all__ = ["FileRef", "Source"]
