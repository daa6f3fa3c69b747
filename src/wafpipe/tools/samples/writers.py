"""Per-format line writers: one :class:`~wafpipe.tools.samples.events.Event` → one line of text.

The writers only render; every choice was made when the event was drawn (see
:mod:`.events`). Each format gets only the fields it really has (FORMATS §6): LEEF has no
rule-type id and its own key names (§4.2); W3C has the 41 columns of the one real file (§5.1),
so no PoP, ``end``, ``cpt``, ``ver``, ``siteTag``, ``cs10``/``cs11`` or extra headers.

They are written for speed (the benchmark generates 200 000 events): plain string building, and
escaping only on values that can hold a character to escape.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from wafpipe.fields.keys import IMPERVA_W3C_COLUMNS
from wafpipe.tools.samples.events import (
    F_BRACKET_CCODE,
    F_DUP_CCODE,
    F_LABEL_FIRST,
    F_LEEF_SPACES,
    F_NO_SPACE,
    F_OLD_ORDER,
    Event,
)

# CEF key spellings by Event.style (FORMATS §2.6 quirk 3): modern camelCase; Imperva's older
# access example; its security example; and Elastic's all-lower mix.
_CEF_SPELLINGS: tuple[tuple[str, str, str, str, str], ...] = (
    ("fileId", "requestMethod", "deviceExternalId", "fileType", "filePermission"),
    ("fileId", "requestmethod", "deviceExternalID", "fileType", "filePermission"),
    ("fileId", "requestMethod", "deviceExternalId", "filetype", "filepermission"),
    ("fileid", "requestmethod", "deviceExternalID", "filetype", "filepermission"),
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# The #Fields line of the one real Imperva W3C file (FORMATS §5.1): the one list of its columns, joined.
W3C_FIELDS_LINE = " ".join(IMPERVA_W3C_COLUMNS)
assert len(IMPERVA_W3C_COLUMNS) == 41


def esc(value: str) -> str:
    """CEF/LEEF extension value escaping: ``\\`` → ``\\\\`` and ``=`` → ``\\=`` (FORMATS §2.5).
    Spaces, quotes and pipes stay as they are, as in Imperva's data."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "=" in value:
        value = value.replace("=", "\\=")
    return value


def _header_esc(value: str) -> str:
    """CEF header escaping: ``\\`` and ``|`` get a backslash."""
    if "\\" in value or "|" in value:
        value = value.replace("\\", "\\\\").replace("|", "\\|")
    return value


def _rule_fields(ev: Event, k_ftype: str, k_fperm: str) -> list[str]:
    """The rule/JSON tail both CEF and LEEF carry with the same key names (FORMATS §4.2), except
    the attack-type keys whose case CEF varies."""
    p: list[str] = []
    if ev.rule_info is not None:
        p += [f"cs10={esc(ev.rule_info)}", "cs10Label=Rule Info"]
    if ev.req_headers is not None:
        p.append(f"additionalReqHeaders={esc(ev.req_headers)}")
    if ev.res_headers is not None:
        p.append(f"additionalResHeaders={esc(ev.res_headers)}")
    if ev.attack_types is not None:
        p += [f"{k_ftype}={ev.attack_types}", f"{k_fperm}={ev.attack_ids}"]
    if ev.rule_names is not None:
        p += [f"cs9={esc(ev.rule_names)}", "cs9Label=Rule name"]
    if ev.rule_add_info is not None:
        p += [f"cs11={esc(ev.rule_add_info)}", "cs11Label=Rule Additional Info"]
    return p


def cef_line(ev: Event) -> str:
    """One CEF line in Imperva's current field order (FORMATS §3.2–3.8), with the event's quirks."""
    f = ev.flags
    k_fid, k_method, k_reqid, k_ftype, k_fperm = _CEF_SPELLINGS[ev.style]
    ccode = f"[{ev.ccode}]" if f & F_BRACKET_CCODE else ev.ccode
    old = f & F_OLD_ORDER
    p = [f"{k_fid}={ev.file_id}", f"sourceServiceName={ev.site}", f"siteid={ev.site_id}", f"suid={ev.suid}",
         f"requestClientApplication={esc(ev.ua)}"]
    if old:
        p.append(f"src={ev.src}")
        if ev.caip:
            p.append(f"caIP={ev.caip}")
    if ev.pop:
        p.append(f"deviceFacility={ev.pop}")
    p += [f"cs2={ev.js}", "cs2Label=Javascript Support", f"cs3={ev.co}", "cs3Label=CO Support"]
    if f & F_DUP_CCODE:
        p += [f"ccode={ccode}", f"tag={esc(ev.tag)}"]
    p += [f"cs1={ev.cap}", "cs1Label=Cap Support", f"cs4={ev.vid}", "cs4Label=VID", f"cs5={ev.clappsig}",
          "cs5Label=clappsig", f"dproc={ev.dproc}", f"cs6={ev.clapp}", "cs6Label=clapp", f"ccode={ccode}"]
    if ev.city is not None:
        p.append(f"cicode={esc(ev.city)}")
    if f & F_LABEL_FIRST:
        p += ["cs7Label=latitude", f"cs7={ev.lat}", "cs8Label=longitude", f"cs8={ev.lon}"]
    else:
        p += [f"cs7={ev.lat}", "cs7Label=latitude", f"cs8={ev.lon}", "cs8Label=longitude"]
    p.append(f"Customer={esc(ev.customer)}")
    if not f & F_DUP_CCODE:
        p.append(f"tag={esc(ev.tag)}")
    if ev.site_tag:
        p.append(f"siteTag={esc(ev.site_tag)}")
    p += [f"start={ev.start}", f"request={esc(ev.request)}"]
    if ev.ref is not None:
        p.append(f"ref={esc(ev.ref)}")
    p.append(f"{k_method}={ev.method}")
    if ev.qstr is not None:
        p.append(f"qstr={esc(ev.qstr)}")
    if ev.postbody is not None:
        p.append(f"postbody={esc(ev.postbody)}")
    if ev.status is not None:
        p.append(f"cn1={ev.status}")
    p += [f"app={ev.app}", f"act={ev.act}", f"{k_reqid}={ev.request_id}"]
    if ev.sip is not None:
        p += [f"sip={ev.sip}", f"spt={ev.spt}"]
    if ev.bytes_in is not None:
        p.append(f"in={ev.bytes_in}")
    if ev.xff is not None:
        p.append(f"xff={ev.xff}")
    if ev.caip and not old:
        p.append(f"caIP={ev.caip}")
    if ev.cpt is not None:
        p.append(f"cpt={ev.cpt}")
    if not old:
        p.append(f"src={ev.src}")
    if ev.ver is not None:
        p.append(f"ver={ev.ver}")
    if ev.end is not None:
        p.append(f"end={ev.end}")
    p += _rule_fields(ev, k_ftype, k_fperm)
    sep = "|" if f & F_NO_SPACE else "| "
    return f"CEF:0|Incapsula|SIEMintegration|1|1|{_header_esc(ev.name)}|{ev.rule_type}{sep}{' '.join(p)}"


def leef_line(ev: Event) -> str:
    """One LEEF line in Imperva's ``LEEF:0`` shape (FORMATS §4): no rule-type id, LEEF key names,
    TAB-separated attributes or, for some lines, the space-separated form of the documentation."""
    p = [f"fileId={ev.file_id}", f"sourceServiceName={ev.site}", f"siteid={ev.site_id}", f"suid={ev.suid}",
         f"requestClientApplication={esc(ev.ua)}"]
    if ev.pop:
        p.append(f"popName={ev.pop}")
    p += [f"cs2={ev.js}", "cs2Label=Javascript Support", f"cs3={ev.co}", "cs3Label=CO Support",
          f"cs1={ev.cap}", "cs1Label=Cap Support", f"cs4={ev.vid}", "cs4Label=VID", f"cs5={ev.clappsig}",
          "cs5Label=clappsig", f"dproc={ev.dproc}", f"cs6={ev.clapp}", "cs6Label=clapp",
          f"calCountryOrRegion={ev.ccode}"]
    if ev.city is not None:
        p.append(f"cicode={esc(ev.city)}")
    p += [f"cs7={ev.lat}", "cs7Label=latitude", f"cs8={ev.lon}", "cs8Label=longitude",
          f"Customer={esc(ev.customer)}", f"tag={esc(ev.tag)}"]
    if ev.site_tag:
        p.append(f"siteTag={esc(ev.site_tag)}")
    p += [f"start={ev.start}", f"url={esc(ev.request)}"]
    if ev.ref is not None:
        p.append(f"ref={esc(ev.ref)}")
    p.append(f"requestMethod={ev.method}")
    if ev.qstr is not None:
        p.append(f"qstr={esc(ev.qstr)}")
    if ev.postbody is not None:
        p.append(f"postbody={esc(ev.postbody)}")
    if ev.status is not None:
        p.append(f"cn1={ev.status}")
    p += [f"proto={ev.app}", f"cat={ev.act}", f"deviceExternalId={ev.request_id}"]
    if ev.sip is not None:
        p += [f"dst={ev.sip}", f"dstPort={ev.spt}"]
    if ev.bytes_in is not None:
        p.append(f"in={ev.bytes_in}")
    if ev.xff is not None:
        p.append(f"xff={ev.xff}")
    if ev.cpt is not None:
        p.append(f"srcPort={ev.cpt}")
    p.append(f"src={ev.src}")
    if ev.ver is not None:
        p.append(f"protoVer={ev.ver}")
    if ev.end is not None:
        p.append(f"end={ev.end}")
    p += _rule_fields(ev, "fileType", "filePermission")
    sep = " " if ev.flags & F_LEEF_SPACES else "\t"
    return f"LEEF:0|Incapsula|SIEMintegration|0|{ev.name}|{sep}{sep.join(p)}"


def w3c_quote(value: str) -> str:
    """A W3C value: double-quoted; a quote inside is written ``\\"``.

    How Imperva escapes a quote inside a W3C value is not public (FORMATS §5.2 allows ``""`` or
    ``\\"``). The backslash form is used because the decoder at the skeleton commit read a value
    that *starts* with a doubled quote (a user agent such as ``"Xpanse-bot``) as empty; both forms
    decode with the reworked decoder, so switching to ``""`` later is a one-line change here.
    """
    if '"' in value:
        value = value.replace('"', '\\"')
    return f'"{value}"'


def _opt(value: object) -> str:
    return "" if value is None else str(value)


class W3CWriter:
    """Renders W3C lines; caches the ``date``/``time`` text per second (events come in time order)."""

    def __init__(self) -> None:
        self._sec = -1
        self._date_time = ""

    @staticmethod
    def directives(last_ms: int) -> list[str]:
        """The body's directive lines; ``#Date`` in Imperva's ``dd/Mon/yyyy HH:MM:SS`` form."""
        t = time.gmtime(last_ms // 1000)
        date = f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        return ["#Software: Incapsula LOGS API", "#Version: 1.1", f"#Date: {date}", "#Fields: " + W3C_FIELDS_LINE]

    def line(self, ev: Event) -> str:
        sec = ev.start // 1000
        if sec != self._sec:
            t = time.gmtime(sec)
            self._sec = sec
            self._date_time = (f'"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}" '
                               f'"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"')
        sec_name, sec_id = (ev.name, str(ev.rule_type)) if ev.security else ("", "")
        values = (
            ev.vid, ev.clapp, ev.dproc, ev.js, ev.co, ev.src, _opt(ev.caip), ev.clappsig, ev.cap, ev.suid, ev.ua,
            ev.file_id, ev.site_id, ev.ccode, ev.tag, _opt(ev.city), ev.site, ev.lat, ev.lon, ev.customer,
            ev.request, _opt(ev.postbody), ev.app, ev.act, ev.request_id, _opt(ev.ref), _opt(ev.sip),
            _opt(ev.spt), ev.method, _opt(ev.qstr), _opt(ev.status), _opt(ev.xff), _opt(ev.bytes_in),
            str(ev.start), sec_name, sec_id, _opt(ev.attack_types), _opt(ev.attack_ids), _opt(ev.rule_names),
        )
        return self._date_time + " " + " ".join([w3c_quote(v) for v in values])


def render(fmt: str, events: Iterable[Event], last_ms: int) -> Iterator[str]:
    """Every body line of one file in ``fmt`` (W3C: the directives first)."""
    if fmt == "cef":
        return map(cef_line, events)
    if fmt == "leef":
        return map(leef_line, events)
    if fmt == "w3c":
        writer = W3CWriter()

        def lines() -> Iterator[str]:
            yield from writer.directives(last_ms)
            yield from map(writer.line, events)

        return lines()
    raise ValueError(f"unknown format {fmt!r}; expected cef, leef or w3c")
