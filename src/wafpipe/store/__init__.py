"""The embedded store's read side: its schema, the query language and the read service (DESIGN §3).

:mod:`.schema` is the table layout (generated from the field table) that the DuckDB sink writes;
:mod:`.query` compiles ``wafpipe query`` expressions into parameterised SQL over an allow-list;
:mod:`.service` answers reads (through the running collector's API, or read-only).
"""
