"""The collector's local HTTP API (DESIGN §2 "one writer", §4 "one HTTP app").

Named parts: :mod:`.server` (:class:`LocalApi`: uvicorn in a thread of the collector, bind, stop,
``api.json``), :mod:`.app` (the FastAPI routes, one per read-service operation, and ``/metrics``),
:mod:`.guard` (Host header and bearer token before any route), :mod:`.protocol` (bounded
connections), :mod:`.token` (the token from the environment or a 0600 file, reused across restarts).
"""

from wafpipe.collector.api.server import LocalApi

__all__ = ["LocalApi"]
