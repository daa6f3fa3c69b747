"""The rules on one string: what a secret looks like in a WAF log, and what replaces it.

One function (:meth:`TextRedactor.redact`) serves every place a value can reach — a typed column,
a JSON document, ``event.original``, a dead letter, a quarantined file — so the same value is
redacted the same way everywhere. Where secrets appear in Imperva logs:

* query strings, form bodies and cookies: ``name=value`` (``name\\=value`` inside a raw CEF line,
  ``name%3Dvalue`` when encoded once more);
* JSON bodies and Imperva's header lists (``additionalReqHeaders=[{"Authorization":"Bearer …"}]``):
  ``"name":"value"``;
* credentials after an auth scheme (``Bearer eyJ…``, ``Basic dXNlcjpwYXNz``), wherever they are;
* card numbers anywhere: 13–19 digits (spaces or dashes between them allowed) that start like a card
  brand, have one of its lengths and pass the Luhn check. Imperva's own long ids (request id, fileId
  and the other id columns of the same event) are passed in as ``protected`` and never taken for a
  card, so a request id stays searchable in ``event.original`` and in its column alike.

:attr:`TextRedactor.filters` holds each rule's filter (a pattern that matches whenever the rule
could change a string; the card rule's check is exact and native), run over whole columns by the
native scanner in one pass per value, so only the few values worth it reach this Python code, and
only for the rules that could change them (:mod:`.batch`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator

from wafpipe.enrich.redaction.config import RedactionConfig

MASK = "[REDACTED]"
CARD_RULE = "card"  # checked exactly by the native scanner, not by a filter
# Words that make any parameter name secret (``new_password``, ``x-api-token``, ``client_secret``).
STRONG_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "api-key", "credential")
AUTH_HEADERS = frozenset({
    "authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token", "x-access-token",
    "x-amz-security-token",
})
COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})
AUTH_SCHEMES = ("bearer", "basic", "digest", "negotiate", "ntlm", "token")

_KEY = r"[A-Za-z0-9_.\-\[\]]"  # a character of a parameter name
_SEP = r"(?:\\?=|%3[Dd])"  # name=value, name\=value (inside a raw CEF line), name%3Dvalue
# A value runs to the next separator; backslashes stay in (``\=`` is CEF's escaped `=`).
_FORM_VALUE = re.compile(r"[^&;\s\"'<>]*")
_JSON_VALUE = r'(?P<value>"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)'
_SEP_AT = re.compile(_SEP)
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-[]")
_JSON_ANY = re.compile(rf'"(?P<key>[^"\\]{{1,64}})"(?P<sep>\s*:\s*){_JSON_VALUE}')
_SCHEME = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?P<scheme>" + "|".join(AUTH_SCHEMES) + r")(?P<sep>\s+)(?P<value>[A-Za-z0-9\-._~+/\\]{8,}=*)"
)
# "Authorization: <anything>" as a header line (a scheme-less API key included)
_HEADER_LINE = re.compile(
    r"(?i)(?<![A-Za-z0-9-])(?P<name>" + "|".join(re.escape(h) for h in sorted(AUTH_HEADERS))
    + r")(?P<sep>[ \t]*:[ \t]*)(?P<value>[^\r\n\"]+)"
)
_CARD = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){11,18}(?![0-9])")
_COOKIE_PAIR = re.compile(r"(?P<name>[^=;,\s]+)=(?P<value>[^;,]*)")


def luhn_ok(digits: str) -> bool:
    """The Luhn check digit is right (every card number has one)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_brand_fits(digits: str) -> bool:
    """``digits`` start like a card brand (ISO/IEC 7812 issuer ranges) and have one of its lengths."""
    n, two, four = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16  # Mastercard
    if two in (34, 37):
        return n == 15  # American Express
    if 3528 <= four <= 3589 or 300 <= int(digits[:3]) <= 305 or two in (36, 38, 39):
        return 14 <= n <= 19  # JCB, Diners Club
    if digits[0] == "6" or two in (50, 56, 57, 58):
        return 13 <= n <= 19  # Discover, UnionPay, Maestro
    return False


def is_card_number(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and card_brand_fits(digits) and luhn_ok(digits)


class TextRedactor:
    """The configured rules, compiled once; :meth:`redact` applies them to one string."""

    def __init__(self, config: RedactionConfig, hash_key: bytes | None = None) -> None:
        self.config = config
        self.hash_key = hash_key
        # Names whose value is a secret wherever they appear: the parameters, and with
        # `authorization` the auth headers (as a parameter, a JSON key or a header line); `cookies`
        # adds the cookie headers as JSON keys (their values are split into pairs, each masked).
        # A name holding a strong word (``new_password``) is a secret too: those rows are rare, so
        # they get the general scan, checked name by name.
        self.names = frozenset(config.parameters) | (AUTH_HEADERS if config.authorization else frozenset())
        self.strong = STRONG_WORDS if config.parameters else ()
        json_names = self.names | (COOKIE_HEADERS if config.cookies else frozenset())
        self._strong_word = re.compile(f"(?i){_alt(self.strong)}") if self.strong else None
        self._form_named = re.compile(rf"(?i)(?<!{_KEY})(?P<key>{_alt(self.names)}){_SEP}") if self.names else None
        self._json_named = (re.compile(rf'(?i)"(?P<key>{_alt(json_names)})"(?P<sep>\s*:\s*){_JSON_VALUE}')
                            if json_names else None)
        # (name, filter for the native scanner, how it is applied): in order, since a JSON pair is masked as a
        # whole before the name=value scan looks inside it. Each filter starts with a word, so the
        # scanner can skip to the words and read little else; it may match more than its rule changes.
        rules: list[tuple[str, str, Callable[[str, Collection[str], Counter[str]], str]]] = []
        if json_names:
            rules.append(("json", rf'(?i:(?:{_alt(json_names)})"\s*:)', self._json_rule))
        if self.strong:
            rules.append(("json_strong", rf'(?i:(?:{_alt(self.strong)})[^"]*"\s*:)', self._json_strong_rule))
        if self.names:
            rules.append(("form", rf"(?i:(?:{_alt(self.names)}){_SEP})", self._form_rule))
        if self.strong:
            rules.append(("form_strong", rf"(?i:(?:{_alt(self.strong)})[A-Za-z0-9_.\-\[\]]*{_SEP})",
                          self._form_strong_rule))
        if config.authorization:
            rules.append(("header_line", rf"(?i:(?:{_alt(AUTH_HEADERS)})[ \t]*:)", self._header_rule))
            rules.append(("scheme", rf"(?i:(?:{_alt(AUTH_SCHEMES)})\s+[A-Za-z0-9\-._~+/\\]{{8}})", self._scheme_rule))
        if config.card_numbers:
            rules.append((CARD_RULE, "", self._card_rule))
        for p in config.patterns:
            rules.append((f"pattern:{p.name}", f"(?:{p.regex})", self._custom_rule(p.name, re.compile(p.regex))))
        self.rules = rules
        self.filters = {name: pattern for name, pattern, _ in rules}

    # -- replacements --------------------------------------------------------------------------
    def _token(self, value: str, kind: str) -> str:
        if self.hash_key is None:
            return MASK
        digest = hmac.new(self.hash_key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"[{kind}-hmac:{digest[:16]}]" if kind == "card" else f"[hmac:{digest[:16]}]"

    def _card_token(self, text: str, digits: str) -> str:
        if self.hash_key is not None:
            return self._token(digits, "card")
        keep = len(digits) - 4  # PCI DSS 3.4: at most the last four digits shown
        out, seen = [], 0
        for ch in text:
            if ch.isdigit():
                out.append("*" if seen < keep else ch)
                seen += 1
            else:
                out.append(ch)
        return "".join(out)

    # -- the rules -----------------------------------------------------------------------------
    def redact(self, text: str, protected: Collection[str] = (), counts: Counter[str] | None = None,
               rules: Collection[str] | None = None) -> str:
        """``text`` with every configured secret replaced (only the ``rules`` named, when given: those
        whose filter matched); ``counts`` gets one per value replaced."""
        if not self.config.enabled or not text:
            return text
        tally: Counter[str] = counts if counts is not None else Counter()
        for name, _, apply in self.rules:
            if rules is None or name in rules:
                text = apply(text, protected, tally)
        return text

    def _json_rule(self, text: str, protected: Collection[str], tally: Counter[str]) -> str:
        return self._json_named.sub(lambda m: self._json_pair(m, tally), text)  # type: ignore[union-attr]

    def _json_strong_rule(self, text: str, protected: Collection[str], tally: Counter[str]) -> str:
        return _JSON_ANY.sub(lambda m: self._json_pair(m, tally) if self._strong(m.group("key")) else m.group(0), text)

    def _form_rule(self, text: str, protected: Collection[str], tally: Counter[str]) -> str:
        named = self._form_named.finditer(text)  # type: ignore[union-attr]  # set when names are
        return self._forms(text, ((m.start(), m.end()) for m in named), tally)

    def _form_strong_rule(self, text: str, protected: Collection[str], tally: Counter[str]) -> str:
        return self._forms(text, self._strong_keys(text), tally)

    def _header_rule(self, text: str, protected: Collection[str], tally: Counter[str]) -> str:
        return _HEADER_LINE.sub(lambda m: self._header_line(m, tally), text)

    def _scheme_rule(self, text: str, protected: Collection[str], tally: Counter[str]) -> str:
        return _SCHEME.sub(lambda m: self._scheme(m, tally), text)

    def _card_rule(self, text: str, protected: Collection[str], tally: Counter[str]) -> str:
        return _CARD.sub(lambda m: self._card(m, protected, tally), text)

    def _custom_rule(self, name: str, pattern: re.Pattern[str]) -> Callable[[str, Collection[str], Counter[str]], str]:
        def apply(text: str, protected: Collection[str], tally: Counter[str]) -> str:
            def replace(m: re.Match[str]) -> str:
                tally[name] += 1
                return self._token(m.group(0), name)
            return pattern.sub(replace, text)
        return apply

    def _strong_keys(self, text: str) -> Iterator[tuple[int, int]]:
        """``(start, value start)`` of each name holding a strong word and followed by a separator:
        found from the words outwards, not by reading every name of the line."""
        seen = -1
        for m in self._strong_word.finditer(text):  # type: ignore[union-attr]  # set when strong words are
            start, end = m.start(), m.end()
            while start > 0 and text[start - 1] in _KEY_CHARS:
                start -= 1
            while end < len(text) and text[end] in _KEY_CHARS:
                end += 1
            sep = _SEP_AT.match(text, end)
            if sep is not None and start > seen and end - start <= 64:
                seen = start
                yield start, sep.end()

    def _strong(self, key: str) -> bool:
        lowered = key.lower()
        return any(w in lowered for w in self.strong)

    def _json_pair(self, m: re.Match[str], tally: Counter[str]) -> str:
        key, value = m.group("key"), m.group("value")
        lowered = key.lower()
        if lowered in COOKIE_HEADERS and self.config.cookies:
            if not value.startswith('"'):
                return m.group(0)
            inner = _COOKIE_PAIR.sub(lambda p: self._cookie_pair(p, tally), value[1:-1])
            return f'"{key}"{m.group("sep")}"{inner}"'
        if value in ('""', f'"{MASK}"') or value.startswith('"[hmac:'):
            return m.group(0)
        tally["header" if lowered in AUTH_HEADERS else "parameter"] += 1
        return f'"{key}"{m.group("sep")}"{self._token(value.strip(chr(34)), "secret")}"'

    def _cookie_pair(self, m: re.Match[str], tally: Counter[str]) -> str:
        value = m.group("value")
        if not value or value == MASK or value.startswith("[hmac:"):
            return m.group(0)
        tally["cookie"] += 1
        return f"{m.group('name')}={self._token(value, 'cookie')}"

    def _forms(self, text: str, keys: Iterator[tuple[int, int]], tally: Counter[str]) -> str:
        """``text`` with the value after each of ``keys`` (name and separator matches) replaced."""
        out, done = [], 0
        for start, value_start in keys:
            if start < done:
                continue  # inside a value already replaced
            end = _FORM_VALUE.match(text, value_start).end()  # type: ignore[union-attr]  # matches empty
            value = text[value_start:end]
            if not value or value == MASK or value.startswith("[hmac:"):
                continue
            tally["parameter"] += 1
            out += [text[done:value_start], self._token(value, "secret")]
            done = end
        return "".join(out) + text[done:] if out else text

    def _header_line(self, m: re.Match[str], tally: Counter[str]) -> str:
        value = m.group("value").strip()
        if not value or value == MASK or value.startswith("[hmac:"):
            return m.group(0)
        tally["header"] += 1
        return f"{m.group('name')}{m.group('sep')}{self._token(value, 'secret')}"

    def _scheme(self, m: re.Match[str], tally: Counter[str]) -> str:
        tally["credential"] += 1
        return f"{m.group('scheme')}{m.group('sep')}{self._token(m.group('value'), 'secret')}"

    def _card(self, m: re.Match[str], protected: Collection[str], tally: Counter[str]) -> str:
        found = m.group(0)
        digits = found.replace(" ", "").replace("-", "")
        if digits in protected or not is_card_number(digits):
            return found
        tally["card_number"] += 1
        return self._card_token(found, digits)


def _alt(words: frozenset[str] | tuple[str, ...]) -> str:
    """An alternation of ``words`` as literals, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))

