"""Configuration: TOML → validated models (DESIGN §4).

* :mod:`.base` — what every table shares (unknown keys refused, strict types, secrets only through
  ``*_env`` keys, paths, URLs) and the base of every ``[[sources]]``/``[[sinks]]`` entry;
* :mod:`.root` — the root table (``data_dir``, ``[keys]``, ``[pipeline]``, ``[api]``…), whose
  ``sources`` and ``sinks`` lists accept exactly the types in the registries of
  :mod:`wafpipe.sources` and :mod:`wafpipe.sinks`, and :func:`~.root.load_config`;
* :mod:`.errors` — a pydantic ValidationError becomes one ConfigError listing each problem.

Each component's own model lives beside its runner (``sources/directory/``, ``sinks/duckdb/``…).
"""
