"""The collector's state: one SQLite database in WAL mode under the data directory (DESIGN §2).

Named parts: :mod:`.schema` (tables and record types), :mod:`.store` (files, progress, health),
:mod:`.dead_letters`, :mod:`.gaps`.
"""

from wafpipe.collector.state.store import State

__all__ = ["State"]
