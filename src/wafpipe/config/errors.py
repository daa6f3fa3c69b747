"""Turning a :class:`pydantic.ValidationError` into one :class:`~wafpipe.errors.ConfigError`.

Pydantic reports each problem as a ``loc`` tuple and an error kind written for programmers. A
person editing TOML needs ``file: key.path: what is expected``: the key path spelled as in the file
(``sinks[1].hosts``, with the union's ``type`` tag dropped from it), the expected type in TOML
words, the nearest valid key for a misspelling, and a pointer to ``*_env`` when a secret was
written literally. All problems are listed at once, so one run shows everything to fix.
"""

from __future__ import annotations

import difflib
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from wafpipe.errors import ConfigError


def to_config_error(exc: ValidationError, *, file: Path | None, root: type[BaseModel]) -> ConfigError:
    """One ConfigError listing every problem of ``exc`` (raised validating ``root``) as
    ``file: key.path: what is expected``."""
    label = str(file) if file else "configuration"
    lines = [f"{label}: {_explain(err, root)}" for err in exc.errors()]
    return ConfigError(f"invalid configuration ({len(lines)} problem(s)):\n  " + "\n  ".join(lines))


def _strip(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _tags(model: Any) -> tuple[Any, ...]:
    field = getattr(model, "model_fields", {}).get("type")
    return get_args(field.annotation) if field else ()


def _walk(loc: tuple[Any, ...], root: type[BaseModel]) -> tuple[str, Any, Any]:
    """Pydantic's loc → (``sinks[1].hosts``, annotation there, model holding the last key)."""
    path, tp, parent = "", root, None
    for item in loc:
        tp = _strip(tp)
        if isinstance(item, int):
            path += f"[{item}]"
            args = get_args(tp)
            tp = args[0] if args else Any
            continue
        if get_origin(tp) in (Union, types.UnionType):
            match = next((m for m in get_args(tp) if item in _tags(m)), None)
            if match is not None:
                tp = match
                continue
        path += f".{item}" if path else str(item)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            parent = tp
            field = tp.model_fields.get(item)
            tp = field.annotation if field else Any
        else:
            tp = Any
    return path, tp, parent


def _type_name(tp: Any) -> str:
    tp = _strip(tp)
    origin = get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}s"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        tags = [t for m in get_args(tp) for t in _tags(m)]
        return "a table with type = " + " | ".join(repr(t) for t in tags)
    names = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean (true or false)",
        Path: "path string",
    }
    if tp in names:
        return names[tp]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "a table"
    return str(tp)


def _explain(err: Any, root: type[BaseModel]) -> str:
    loc = tuple(err["loc"])
    path, tp, parent = _walk(loc, root)
    kind, given = err["type"], err.get("input")
    where = path or "(top level)"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        fields = list(parent.model_fields) if parent else []
        if f"{key}_env" in fields:
            return (
                f"{where}: secrets are not read from the configuration file; use "
                f'{key}_env = "VARIABLE" instead and export VARIABLE=<the {key}> in the environment'
            )
        near = difflib.get_close_matches(key, fields, n=1, cutoff=0.5)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        return f"{where}: unknown key '{key}'{hint} (valid keys: {', '.join(fields)})"
    if kind == "literal_error":
        return f"{where}: must be one of {err['ctx']['expected']}, got {given!r}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = err.get("ctx", {}).get("expected_tags") or ", ".join(
            repr(t) for m in get_args(_strip(tp)) for t in _tags(m)
        )
        got = (
            f", got {given.get('type')!r}"
            if isinstance(given, dict) and "type" in given
            else " (the key is missing)"
        )
        return f"{where}.type: must be one of {tags}{got}"
    if kind == "missing":
        return f"{where}: required key is missing (expected {_type_name(tp)})"
    if kind in ("value_error", "assertion_error"):
        return f"{where}: {err['msg'].removeprefix('Value error, ')}"
    if kind.startswith(("greater", "less")):
        return f"{where}: {err['msg'].lower()}, got {given!r}"
    return f"{where}: expected {_type_name(tp)}, got {type(given).__name__} {given!r}"
