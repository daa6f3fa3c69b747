"""What the ``[redaction]`` table accepts (docs/configuration.md, "Redaction").

Redaction is off unless the table is present; with the table, every built-in rule is on. Values are
masked (``[REDACTED]``, card numbers keeping their last four digits, as PCI DSS 3.4 allows) or
replaced by a keyed hash (``[hmac:…]``: the same value gives the same token, so an analyst can
still follow one card or one session across events without seeing it). The hash key is read from
the environment, never from the file: an unkeyed hash of a card number is reversible by trying
every number of the card's range.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from wafpipe._native import RedactionScanner
from wafpipe.config.base import _Model

# Parameter names (query strings, form bodies, cookies, JSON keys) whose values are secrets. A name
# matches when it equals one of these (case-insensitive), or contains one of STRONG_WORDS.
DEFAULT_PARAMETERS: tuple[str, ...] = (
    "password", "passwd", "pwd", "pass", "passphrase", "pin", "cvv", "cvv2", "cvc", "cvc2",
    "token", "access_token", "refresh_token", "id_token", "auth", "auth_token", "api_key", "apikey",
    "key", "secret", "client_secret", "signature", "sig", "otp", "sessionid", "session_id",
    "jsessionid", "phpsessid", "sid",
)


class CustomPattern(_Model):
    """A value to redact wherever it appears, named for the counters and the report."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles_in_both_engines(cls, value: str) -> str:
        """Python's ``re`` redacts; Rust's ``regex`` (the native scanner) finds the values to look
        at. A pattern must mean the same in both, so it is checked by both here, at load time,
        rather than failing mid-run."""
        try:
            re.compile(value)
            RedactionScanner([value], False)
        except (re.error, ValueError) as exc:
            raise ValueError(
                f"not a regular expression both Python and Rust's regex accept ({exc}); Rust's regex has no "
                "look-around and no back-references"
            ) from exc
        if re.compile(value).match(""):
            raise ValueError("matches the empty string: it would redact nothing or everything")
        return value


class RedactionConfig(_Model):
    enabled: bool = True
    card_numbers: bool = True  # Luhn-checked numbers of a card brand's prefix and length
    parameters: list[str] = Field(default_factory=lambda: list(DEFAULT_PARAMETERS))
    authorization: bool = True  # Authorization-like headers, and Bearer/Basic/… credentials anywhere
    cookies: bool = True  # every value of Cookie and Set-Cookie headers (names kept)
    patterns: list[CustomPattern] = Field(default_factory=list)
    action: Literal["mask", "hash"] = "mask"
    hash_key_env: str | None = None  # names the variable holding the HMAC key (action = "hash")
    # Original files (the archive's byte-for-byte copies, quarantine copies) hold every value
    # unredacted: kept only when this says so. Encrypted files are kept encrypted either way.
    keep_raw: bool = False

    @field_validator("parameters")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]{1,64}", name):
                raise ValueError(f"{name!r} is not a parameter name (letters, digits, _ . - [ ])")
        return [n.lower() for n in value]

    @model_validator(mode="after")
    def _hash_needs_key(self) -> RedactionConfig:
        if self.action == "hash" and not self.hash_key_env:
            raise ValueError(
                'action = "hash" needs hash_key_env: the name of an environment variable holding a secret '
                "key (an unkeyed hash of a card number can be reversed by trying every number)"
            )
        return self

    def rules_in_force(self) -> list[str]:
        """The rules as a person reads them (the compliance report, ``wafpipe status``)."""
        if not self.enabled:
            return []
        out = []
        if self.card_numbers:
            out.append("card numbers (Luhn-checked, card brand prefixes and lengths)")
        if self.parameters:
            out.append("parameters: " + ", ".join(self.parameters))
        if self.authorization:
            out.append("Authorization headers and Bearer/Basic/Digest credentials")
        if self.cookies:
            out.append("cookie values")
        out += [f"pattern {p.name}: {p.regex}" for p in self.patterns]
        return out
