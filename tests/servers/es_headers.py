"""Request headers as Elasticsearch 8 checks them: media types (``compatible-with``) and credentials."""

from __future__ import annotations

import base64
import re
from typing import Any

from .es_errors import EsError
from .http_base import Request

VENDORED = re.compile(r"application/vnd\.elasticsearch\+[\w-]+\s*;\s*compatible-with\s*=\s*(\d+)", re.I)
BODY_TYPES = ("application/json", "application/x-ndjson", "application/vnd.elasticsearch+json",
              "application/vnd.elasticsearch+x-ndjson")
WWW_AUTHENTICATE = ['Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', "ApiKey"]


def check_media_types(req: Request) -> None:
    """Elasticsearch's checks of ``Accept``/``Content-Type`` (before authentication, as on ES)."""
    values = {"Accept": req.header("Accept"), "Content-Type": req.header("Content-Type")}
    versions: dict[str, int] = {}
    for name, value in values.items():
        m = VENDORED.search(value)
        if m:
            versions[name] = int(m.group(1))
        elif "vnd.elasticsearch" in value:
            raise EsError(400, "media_type_header_exception", "Invalid media-type value on headers "
                          "[Content-Type, Accept]", caused_by={"type": "illegal_argument_exception",
                                                               "reason": f"invalid media-type [{value}]"})
    for name, ver in versions.items():
        if ver not in (7, 8):
            raise EsError(400, "media_type_header_exception",
                          "Invalid media-type value on headers [Content-Type, Accept]",
                          caused_by={"type": "status_exception",
                                     "reason": f"{name} version must be either version 8 or 7, but found {ver}. "
                                               f"{name}={values[name]}"})
    if len(set(versions.values())) > 1:
        raise EsError(400, "media_type_header_exception", "Invalid media-type value on headers [Content-Type, Accept]",
                      caused_by={"type": "status_exception",
                                 "reason": "Content-Type and Accept version requested have to match. "
                                           f"Accept={values['Accept']}, Content-Type={values['Content-Type']}"})
    ctype = values["Content-Type"].split(";")[0].strip().lower()
    if req.body and ctype and ctype not in BODY_TYPES:
        raise NotAcceptable(ctype)

def authenticate(req: Request, api_key: str | None, basic_auth: tuple[str, str] | None) -> None:
    """Raise the 401 ``security_exception`` ES answers for missing or wrong credentials."""
    if api_key is None and basic_auth is None:
        return
    path = req.raw_path
    header = req.header("Authorization")
    if not header:
        raise EsError(401, "security_exception", f"missing authentication credentials for REST request [{path}]",
                      extra={"header": {"WWW-Authenticate": WWW_AUTHENTICATE}})
    scheme, _, cred = header.partition(" ")
    cred = cred.strip()
    if scheme.lower() == "apikey" and api_key is not None and cred == api_key:
        return
    if scheme.lower() == "basic" and basic_auth is not None:
        try:
            user, _, password = base64.b64decode(cred).decode().partition(":")
        except ValueError:
            user, password = "", ""
        if (user, password) == basic_auth:
            return
        raise EsError(401, "security_exception", f"unable to authenticate user [{user}] for REST request [{path}]",
                      extra={"header": {"WWW-Authenticate": WWW_AUTHENTICATE}})
    raise EsError(401, "security_exception",
                  "unable to authenticate with provided credentials and anonymous access is not allowed for this "
                  "request", extra={"additional_unsuccessful_credentials": f"{scheme}: invalid credentials",
                                    "header": {"WWW-Authenticate": WWW_AUTHENTICATE}})


class NotAcceptable(EsError):
    """ES answers an unsupported body media type with a bare ``{"error": "...", "status": 406}``."""

    def __init__(self, ctype: str) -> None:
        super().__init__(406, "", f"Content-Type header [{ctype}] is not supported")

    def body(self) -> dict[str, Any]:
        return {"error": self.reason, "status": 406}
