"""Build components the way the collector does, for tests that use one on its own."""

from __future__ import annotations

from wafpipe.collector.state import State
from wafpipe.config.root import Config
from wafpipe.model import Context


def context(cfg: Config) -> Context:
    """A component context with the collector's state database under the config's data_dir."""
    return Context(cfg.data_dir, state=State(cfg.data_dir))
