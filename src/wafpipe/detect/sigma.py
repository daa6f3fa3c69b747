"""Sigma rules → query trees over the store, parsed by pySigma and never turned into SQL text.

pySigma reads the YAML (one rule or many, SigmaHQ's format), checks it, applies the field mapping
of :mod:`.taxonomy` and parses each condition into a tree of AND/OR/NOT over ``field = value``
items. That tree is translated here into the query tree of :mod:`wafpipe.store.query.tree`, which
the read side compiles like a typed query: every value a ``?`` parameter, every field through the
allow-list. pySigma's own SQL backends would put rule values into SQL text, and rules dropped into
the rules directory are user text, so they are not used against the store.

Sigma's meaning, kept: strings match whatever their case (``|cased`` asks for the exact case);
``*`` and ``?`` are wildcards and ``|contains``/``|startswith``/``|endswith`` add them; a list of
values is any of them (``|all``: every one); ``|re`` is a regular expression (RE2, as DuckDB runs
it; ``|re|i`` and friends set its flags); ``|cidr`` an address range; ``|lt``…``|gte`` compare
numbers; ``|exists`` and ``null`` test presence; a list field (``imperva.waf.rule_names``) matches
when any element does; keywords (values without a field) search the raw line.

Refused, naming the rule and the construct: a log source that is not web traffic, a field we do not
fill, ``|fieldref``, placeholders (``|expand``), value modifiers that do not apply to the field's
type, and the correlation types :mod:`.correlation` does not run. A rule that loads can match.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from wafpipe.detect.correlation import correlation
from wafpipe.detect.model import Detection, Rule, UnsupportedRule
from wafpipe.detect.taxonomy import CATEGORIES, PRODUCTS, pipeline
from wafpipe.errors import QueryError
from wafpipe.store.query import compile_node
from wafpipe.store.query.tree import All, And, Compare, Exists, Match, Node, Not, Or, Regex, Value

_COMPARE = {
    SigmaCompareExpression.CompareOperators.LT: "<",
    SigmaCompareExpression.CompareOperators.LTE: "<=",
    SigmaCompareExpression.CompareOperators.GT: ">",
    SigmaCompareExpression.CompareOperators.GTE: ">=",
}
_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


def load_text(text: str, source: str = "<text>") -> list[Detection]:
    """Every rule in a YAML text (one document or several)."""
    return _load([(text, source)])


def load_paths(paths: Iterable[Path]) -> list[Detection]:
    """Every rule of the given ``.yml``/``.yaml`` files and of those in the given directories
    (sorted by path, so their order does not depend on the file system). A correlation may refer
    to rules of other files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        else:
            files.append(path)
    texts = []
    for path in files:
        try:
            texts.append((path.read_text(encoding="utf-8"), str(path)))
        except (OSError, UnicodeDecodeError) as exc:
            raise UnsupportedRule(f"{path}: cannot be read: {exc}") from None
    return _load(texts)


def _load(texts: list[tuple[str, str]]) -> list[Detection]:
    sources: dict[int, str] = {}
    collections = []
    for text, source in texts:
        try:
            collection = SigmaCollection.from_yaml(text, collect_errors=True, resolve_references=False)
        except (SigmaError, ValueError, yaml.YAMLError) as exc:
            raise UnsupportedRule(f"{source}: not a Sigma rule file: {str(exc).splitlines()[0]}") from None
        if collection.errors and not any(getattr(r, "errors", None) for r in collection.rules):
            raise UnsupportedRule(f"{source}: {collection.errors[0]}")  # not about one rule (those name it)
        sources.update((id(item), source) for item in collection.rules)
        collections.append(collection)
    try:
        merged = SigmaCollection.merge(collections)  # resolves references across files
    except SigmaError as exc:
        raise UnsupportedRule(f"a correlation rule refers to a rule that is not loaded: {exc}") from None
    fed = {id(ref.rule) for item in merged.rules if isinstance(item, SigmaCorrelationRule) and not item.generate
           for ref in item.rules}  # fmt: skip
    # the rules first, so that a correlation may come before the rules it refers to
    ours = {id(item): _rule(item, sources.get(id(item), "<text>"), standalone=id(item) not in fed)
            for item in merged.rules if not isinstance(item, SigmaCorrelationRule)}  # fmt: skip
    out: list[Detection] = [
        ours[id(item)] if id(item) in ours
        else correlation(item, ours, sources.get(id(item), "<text>"), _meta(item, sources.get(id(item), "<text>")))
        for item in merged.rules
    ]  # fmt: skip
    seen: dict[str, str] = {}
    for d in out:  # an alert is its rule's by id: two rules with one id would share alerts
        if d.id in seen:
            raise UnsupportedRule(f"{d.source}: rule {d.title!r} has the id {d.id} of a rule in {seen[d.id]}",
                                  hint="give the copy a new id (uuidgen)")  # fmt: skip
        seen[d.id] = d.source
    return out


def _meta(item: SigmaRule | SigmaCorrelationRule, source: str) -> dict[str, Any]:
    level = getattr(item.level, "name", None) or "medium"
    return {
        "id": str(item.id or item.name or item.title), "title": item.title, "level": level.lower(),
        "source": source, "description": item.description or "",
        "falsepositives": tuple(item.falsepositives or ()), "references": tuple(item.references or ()),
        "tags": tuple(str(t) for t in item.tags or ()), "author": item.author or "",
    }  # fmt: skip


def _rule(item: SigmaRule, source: str, *, standalone: bool) -> Rule:
    name = f"{source}: rule {item.title or '?'!r}"
    if item.errors:
        raise UnsupportedRule(f"{name}: {item.errors[0]}")
    logsource = item.logsource
    if logsource.category not in CATEGORIES and logsource.product not in PRODUCTS:
        raise UnsupportedRule(
            f"{name}: its log source (category {logsource.category!r}, product {logsource.product!r}) is not web "
            f"traffic; wafpipe runs rules of category {', '.join(sorted(CATEGORIES))} or product imperva"
        )
    try:
        pipeline().apply(item)
        conditions = [c.parse() for c in item.detection.parsed_condition]
    except SigmaError as exc:
        raise UnsupportedRule(f"{name}: {exc}") from None
    trees = [_node(c, name) for c in conditions]
    tree = trees[0] if len(trees) == 1 else Or(tuple(trees))
    try:
        compile_node(tree)  # every field allowed, every value of its type
    except QueryError as exc:
        raise UnsupportedRule(f"{name}: {str(exc).split(' at column ')[0]}", hint=exc.hint) from None
    return Rule(**_meta(item, source), tree=tree, standalone=standalone)


def _node(item: ConditionItem | Any, name: str) -> Node:
    if isinstance(item, ConditionAND):
        return And(tuple(_node(a, name) for a in item.args))
    if isinstance(item, ConditionOR):
        return Or(tuple(_node(a, name) for a in item.args))
    if isinstance(item, ConditionNOT):
        return Not(_node(item.args[0], name))
    if isinstance(item, ConditionFieldEqualsValueExpression):
        return _field_value(item.field, item.value, name)
    if isinstance(item, ConditionValueExpression):
        return _keyword(item.value, name)
    raise UnsupportedRule(f"{name}: the condition part {type(item).__name__} is not supported")


def _field_value(fname: str, value: Any, name: str) -> Node:
    if isinstance(value, SigmaExpansion):
        return Or(tuple(_field_value(fname, v, name) for v in value.values))
    if isinstance(value, SigmaString):
        text = _text(value, name)
        if isinstance(value, SigmaCasedString) and text.wild:
            raise UnsupportedRule(f"{name}: field {fname}: |cased with wildcards is not supported")
        return Match(fname, Value(text.text, 0, wild=text.wild, nocase=not isinstance(value, SigmaCasedString)), 0)
    if isinstance(value, SigmaBool):
        return Match(fname, Value("true" if value.boolean else "false", 0), 0)
    if isinstance(value, SigmaNumber):
        return Match(fname, Value(str(value.number), 0), 0)
    if isinstance(value, SigmaNull):
        return Not(Exists(fname, 0))
    if isinstance(value, SigmaExists):
        return Exists(fname, 0) if value.exists else Not(Exists(fname, 0))
    if isinstance(value, SigmaRegularExpression):
        flags = "".join(sorted(_FLAGS[f] for f in value.flags))
        return Regex(fname, (f"(?{flags})" if flags else "") + value.regexp.original, 0)
    if isinstance(value, SigmaCIDRExpression):
        return Match(fname, Value(value.cidr, 0, quoted=True), 0)
    if isinstance(value, SigmaCompareExpression):
        if value.op == SigmaCompareExpression.CompareOperators.NEQ:
            return Not(Match(fname, Value(str(value.number.number), 0), 0))
        return Compare(fname, _COMPARE[value.op], Value(str(value.number.number), 0), 0)
    raise UnsupportedRule(f"{name}: field {fname}: the value {type(value).__name__} (a modifier such as "
                          "|fieldref or |expand) is not supported")  # fmt: skip


def _keyword(value: Any, name: str) -> Node:
    """A value without a field: searched in the raw line, whatever its case."""
    if isinstance(value, SigmaExpansion):
        return Or(tuple(_keyword(v, name) for v in value.values))
    if not isinstance(value, SigmaString | SigmaNumber):
        raise UnsupportedRule(f"{name}: a keyword of type {type(value).__name__} is not supported")
    if isinstance(value, SigmaNumber):
        return Match(None, Value(str(value.number), 0), 0)
    text = _text(value, name)
    return Match(None, text, 0) if text.text else All()


def _text(value: SigmaString, name: str) -> Value:
    """A Sigma string as a query value: its wildcards at their positions, the rest literal."""
    if value.contains_placeholder():
        raise UnsupportedRule(f"{name}: placeholders (%name% with |expand) are not supported")
    parts: list[str] = []
    wild: list[int] = []
    length = 0
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI or part is SpecialChars.WILDCARD_SINGLE:
            wild.append(length)
            parts.append("*" if part is SpecialChars.WILDCARD_MULTI else "?")
            length += 1
        else:
            parts.append(str(part))
            length += len(str(part))
    return Value("".join(parts), 0, wild=tuple(wild), nocase=True)
