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

:attr:`TextRedactor.prefilter` is one RE2 pattern that matches every string a rule could change,
so Arrow can pick the few values worth this Python code (:mod:`.batch`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable, Collection

from wafpipe.enrich.redaction.config import RedactionConfig

MASK = "[REDACTED]"
# Words that make any parameter name secret (``new_password``, ``x-api-token``, ``client_secret``).
STRONG_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "api-key", "credential")
AUTH_HEADERS = frozenset({
    "authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token", "x-access-token",
    "x-amz-security-token",
})
COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})
AUTH_SCHEMES = ("bearer", "basic", "digest", "negotiate", "ntlm", "token")

_KEY_CHARS = r"A-Za-z0-9_.\-\[\]"
# name=value: a name, then its value up to the next separator (backslashes stay in: ``\=`` is CEF's
# escaped `=`). Only the name is matched by the scan, so a value holding ``password=`` is still seen.
_FORM_KEY = re.compile(rf"(?<![{_KEY_CHARS}])(?P<key>[{_KEY_CHARS}]{{1,64}})(?:\\?=|%3[Dd])")
_FORM_VALUE = re.compile(r"[^&;\s\"'<>]*")
_JSON = re.compile(
    r'"(?P<key>[^"\\]{1,64})"(?P<sep>\s*:\s*)(?P<value>"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)'
)
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
        self.names = frozenset(config.parameters)
        self.customs = [(p.name, re.compile(p.regex)) for p in config.patterns]
        self.prefilter = self._prefilter()

    def _prefilter(self) -> str:
        parts: list[str] = []
        c = self.config
        words = [*self.names, *STRONG_WORDS] if c.parameters else []
        if c.authorization:
            words += [*AUTH_HEADERS, *AUTH_SCHEMES]
        if c.cookies:
            words += list(COOKIE_HEADERS)
        if words:
            parts.append("(?i)(?:" + "|".join(re.escape(w) for w in sorted(set(words))) + ")")
        if c.card_numbers:
            parts.append(r"[0-9](?:[ -]?[0-9]){12,18}")
        parts += [f"(?:{p.regex})" for p in c.patterns]
        return "|".join(parts)

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

    def _secret_name(self, key: str) -> bool:
        k = key.lower().strip("[]")
        return k in self.names or any(w in k for w in STRONG_WORDS)

    # -- the rules -----------------------------------------------------------------------------
    def redact(self, text: str, protected: Collection[str] = (), counts: Counter[str] | None = None) -> str:
        """``text`` with every configured secret replaced; ``counts`` gets one per value replaced."""
        if not self.config.enabled or not text:
            return text
        tally: Counter[str] = counts if counts is not None else Counter()
        c = self.config
        if c.parameters or c.authorization or c.cookies:
            text = _JSON.sub(lambda m: self._json_pair(m, tally), text)
        if c.parameters or c.authorization:
            text = self._forms(text, tally)
        if c.authorization:
            text = _HEADER_LINE.sub(lambda m: self._header_line(m, tally), text)
            text = _SCHEME.sub(lambda m: self._scheme(m, tally), text)
        if c.card_numbers:
            text = _CARD.sub(lambda m: self._card(m, protected, tally), text)
        for name, pattern in self.customs:
            text = pattern.sub(self._counted(name, tally), text)
        return text

    def _counted(self, name: str, tally: Counter[str]) -> Callable[[re.Match[str]], str]:
        def replace(m: re.Match[str]) -> str:
            tally[name] += 1
            return self._token(m.group(0), name)
        return replace

    def _json_pair(self, m: re.Match[str], tally: Counter[str]) -> str:
        key, value = m.group("key"), m.group("value")
        lowered = key.lower()
        if lowered in COOKIE_HEADERS and self.config.cookies and value.startswith('"'):
            inner = _COOKIE_PAIR.sub(lambda p: self._cookie_pair(p, tally), value[1:-1])
            return f'"{key}"{m.group("sep")}"{inner}"'
        if (self.config.authorization and lowered in AUTH_HEADERS) or (
            self.config.parameters and self._secret_name(key)
        ):
            if value in ('""', f'"{MASK}"') or value.startswith('"[hmac:'):
                return m.group(0)
            tally["header" if lowered in AUTH_HEADERS else "parameter"] += 1
            return f'"{key}"{m.group("sep")}"{self._token(value.strip(chr(34)), "secret")}"'
        return m.group(0)

    def _cookie_pair(self, m: re.Match[str], tally: Counter[str]) -> str:
        value = m.group("value")
        if not value or value == MASK or value.startswith("[hmac:"):
            return m.group(0)
        tally["cookie"] += 1
        return f"{m.group('name')}={self._token(value, 'cookie')}"

    def _forms(self, text: str, tally: Counter[str]) -> str:
        out, done = [], 0
        for m in _FORM_KEY.finditer(text):
            if m.start() < done:
                continue  # inside a value already replaced
            key = m.group("key")
            secret = self._secret_name(key) if self.config.parameters else key.lower() in AUTH_HEADERS
            if not secret:
                continue
            end = _FORM_VALUE.match(text, m.end()).end()  # type: ignore[union-attr]  # matches empty
            value = text[m.end():end]
            if not value or value == MASK or value.startswith("[hmac:"):
                continue
            tally["parameter"] += 1
            out += [text[done:m.end()], self._token(value, "secret")]
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
