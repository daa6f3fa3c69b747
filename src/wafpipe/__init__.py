"""wafpipe: Imperva Cloud WAF logs → ECS, exactly once.

The public API is small: :func:`parse_file` and :func:`parse_line` for the core, the error
hierarchy in :mod:`wafpipe.errors`.
"""

from wafpipe.errors import (
    ConfigError,
    ContainerError,
    DecodeError,
    DecryptError,
    SinkError,
    WafpipeError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ContainerError",
    "DecodeError",
    "DecryptError",
    "SinkError",
    "WafpipeError",
    "__version__",
]
