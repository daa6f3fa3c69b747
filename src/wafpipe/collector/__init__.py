"""The collector: sources → decode workers → every sink → checkpoint → ack (DESIGN §1, §2).

:mod:`.pipeline` orders the work, :mod:`.workers` decodes in worker processes, :mod:`.state` keeps
files, progress, dead letters, gaps and health in SQLite, :mod:`.api` serves the local HTTP API,
:mod:`.metrics` the Prometheus metrics, :mod:`.quarantine` keeps copies of files that failed.
"""
