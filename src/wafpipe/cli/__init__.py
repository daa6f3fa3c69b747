"""The command line: one module per command group; each only parses flags and calls the library."""

from wafpipe.cli.app import app, main

__all__ = ["app", "main"]
