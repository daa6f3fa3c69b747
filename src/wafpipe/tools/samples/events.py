"""The abstract event model of the sample generator, independent of any output format.

DESIGN §4 wants the same seed and counts to give the same events in the same order in CEF, LEEF
and W3C, each format carrying only the fields it really has. So events are drawn here, from one
seeded RNG stream that never sees the format, and :mod:`.writers` only renders them. Every
rendering choice that varies per line (key case, header space, bracketed ``ccode``…) is drawn here
too, as a bit in :attr:`Event.flags`, so even those are reproducible and the writers stay pure.

Values are *raw* (unescaped): ``qstr`` holds ``id=1' OR 1=1--``, not ``id\\=1…``; each writer
escapes for its own format.
"""

from __future__ import annotations

import bisect
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from wafpipe.tools.samples import data as D

# Rendering knobs (FORMATS §2.6); the CEF/LEEF writers read them, the model never does.
F_NO_SPACE = 1 << 0  # CEF: no space after the header's last pipe
F_BRACKET_CCODE = 1 << 1  # CEF: ccode=[US]
F_DUP_CCODE = 1 << 2  # CEF: ccode twice, as in Imperva's security example
F_LABEL_FIRST = 1 << 3  # CEF: cs7Label before cs7
F_LEEF_SPACES = 1 << 4  # LEEF: space-separated attributes (the documented example) instead of TAB
F_OLD_ORDER = 1 << 5  # CEF: 2017 field order, src early


@dataclass(slots=True)
class Event:
    """One request as Imperva saw it. ``None`` means the field is absent in every format."""

    name: str  # "Normal" or the rule type / IncapRules(...) name
    rule_type: int  # CEF severity slot; 0 for Normal
    security: bool
    start: int  # epoch ms
    end: int | None
    file_id: str
    site: str
    site_id: str
    suid: str
    customer: str
    tag: str
    site_tag: str | None
    ua: str
    pop: str | None
    cap: str
    js: str
    co: str
    vid: str
    clappsig: str
    clapp: str
    dproc: str
    ccode: str
    city: str | None
    lat: str
    lon: str
    path: str  # request = site + path (no scheme, no query)
    ref: str | None
    method: str
    qstr: str | None
    postbody: str | None
    status: int | None
    app: str
    act: str
    request_id: str
    src: str
    cpt: int | None
    sip: str | None
    spt: int | None
    bytes_in: int | None
    xff: str | None
    ver: str | None
    caip: str | None
    attack_types: str | None  # fileType
    attack_ids: str | None  # filePermission
    rule_names: str | None  # cs9 ("" = present and empty)
    rule_info: str | None  # cs10 JSON
    rule_add_info: str | None  # cs11, possibly with leading commas
    req_headers: str | None
    res_headers: str | None
    style: int  # CEF key-case variant 0..3
    flags: int

    @property
    def request(self) -> str:
        return self.site + self.path


class Site(NamedTuple):
    host: str
    site_id: str
    suid: str
    customer: str
    tag: str
    site_tag: str | None
    origin: str
    https_port: int
    logs_headers: bool
    logs_body: bool


class Visitor(NamedTuple):
    ip: str
    place: D.Place
    agent: D.Agent
    vid: str
    clappsig: str
    cap: str


def _json(obj: object) -> str:
    """Compact JSON as Imperva writes it (no spaces after separators), unicode kept."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


_RULE_INFO_JSON = tuple(_json([info]) for info in D.RULE_INFOS)
_REQ_HEADERS_JSON = tuple(_json(h) for h in D.REQ_HEADERS)
_RES_HEADERS_JSON = tuple(_json(h) for h in D.RES_HEADERS)


def _cumulative(weights: list[int]) -> list[int]:
    out, total = [], 0
    for w in weights:
        total += w
        out.append(total)
    return out


class EventGenerator:
    """Draws events from one RNG. Create it once per run; :meth:`events` then yields them in time
    order. The RNG is consumed in a fixed order (world, timestamps, events), so the output depends
    only on the seed, the counts, the window and the attack ratio."""

    def __init__(self, rng: random.Random, start_ms: int, end_ms: int, total: int, attack_ratio: float) -> None:
        self.rng = rng
        self.attack_ratio = attack_ratio
        self.total = total
        self.account = str(rng.randint(100_000, 9_999_999))
        self.sites = self._sites()
        self._site_cum = _cumulative([5, 3, 2, 1])
        self.visitors = [self._visitor(False, i) for i in range(max(20, min(3000, total // 8)))]
        self.attackers = [self._visitor(True, i) for i in range(max(8, min(200, total // 100)))]
        blocked_places = [p for p in D.PLACES if p.ccode in D.BLOCKED_COUNTRIES]
        self.blocked = [self._visitor(True, 999)._replace(place=p) for p in blocked_places]
        self.attackers += self.blocked
        self._attack_cum = _cumulative([a.weight for a in D.ATTACKS])
        self._access_cum = _cumulative([w for _, w in D.ACCESS_ACTS])
        self._sessions: dict[str, str] = {}
        self.timestamps = sorted(rng.randint(start_ms, end_ms) for _ in range(total))

    # -- the world ------------------------------------------------------------------------------

    def _sites(self) -> list[Site]:
        r = self.rng
        acct = self.account
        sub = str(r.randint(10_000_000, 99_999_999))
        return [
            Site("shop.example.com", str(r.randint(10**7, 10**8 - 1)), acct, "Example Corp", "example-corp", "shop-prod",
                 "203.0.113.10", 443, True, True),
            Site("www.example.org", str(r.randint(10**7, 10**8 - 1)), acct, "Example Corp", "example-corp", None,
                 "2001:db8:10::25", 443, False, False),
            Site("api.example.net", str(r.randint(10**7, 10**8 - 1)), acct, "Example Corp", "example-corp", "api",
                 "198.51.100.200", 8443, True, True),
            Site("blog.example.com", str(r.randint(10**7, 10**8 - 1)), sub, "secops@example.com", "blog team", None,
                 "203.0.113.20", 443, False, False),
        ]

    def _ip(self, v6_share: float = 0.2) -> str:
        r = self.rng
        if r.random() < v6_share:
            return f"2001:db8:{r.randint(1, 0xFFFF):x}::{r.randint(1, 0xFFFF):x}"
        return f"{r.choice(('192.0.2', '198.51.100', '203.0.113'))}.{r.randint(1, 254)}"

    def _visitor(self, attacker: bool, index: int) -> Visitor:
        """A client. The first visitors of each pool take every agent and place of the vocabulary
        once, in order: visitors are picked with a bias towards low indices, so even a small
        sample shows every user-agent and city quirk; later ones are drawn at random."""
        r = self.rng
        agents = D.ATTACK_TOOLS + D.BOTS[4:] + D.BROWSERS[:2] if attacker else D.BROWSERS + D.BOTS
        if index < len(agents):
            agent = agents[index]
        elif attacker:
            agent = r.choice(agents)
        else:
            agent = r.choice(D.BOTS) if r.random() < 0.15 else r.choice(D.BROWSERS)
        place = D.PLACES[index] if index < len(D.PLACES) else r.choice(D.PLACES)
        cap = "NOT_SUPPORTED" if agent.dproc != "Browser" and r.random() < 0.5 else "NA"
        vid = str(uuid.UUID(int=r.getrandbits(128), version=4))
        return Visitor(self._ip(), place, agent, vid, f"{r.getrandbits(384):096x}", cap)

    def _session(self, v: Visitor) -> str:
        """fileId: one per visit, renewed now and then (FORMATS §2.3: a session/visit id)."""
        sid = self._sessions.get(v.ip)
        if sid is None or self.rng.random() < 0.05:
            sid = str(self.rng.randint(10**17, 10**19 - 1))
            self._sessions[v.ip] = sid
        return sid

    # -- events ---------------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        for ts in self.timestamps:
            yield self._event(ts)

    def _event(self, ts: int) -> Event:
        r = self.rng
        site = self.sites[bisect.bisect_right(self._site_cum, r.randrange(self._site_cum[-1]))]
        kind: D.AttackKind | None = None
        if r.random() < self.attack_ratio:
            kind = D.ATTACKS[bisect.bisect_right(self._attack_cum, r.randrange(self._attack_cum[-1]))]
            pool = self.blocked if kind.rule_type == -1 else self.attackers
            v = pool[int(len(pool) * r.random() ** 2)]
        else:
            v = self.visitors[int(len(self.visitors) * r.random() ** 2)]
        bits = r.getrandbits(64)
        style_roll = bits & 0xFF
        style = 0 if style_roll < 218 else 1 + (style_roll % 3)
        flags = 0
        for flag, shift, below in ((F_NO_SPACE, 8, 10), (F_BRACKET_CCODE, 16, 10), (F_DUP_CCODE, 24, 13),
                                   (F_LABEL_FIRST, 32, 13), (F_LEEF_SPACES, 40, 51), (F_OLD_ORDER, 48, 8)):
            if (bits >> shift) & 0xFF < below:
                flags |= flag
        legacy = (bits >> 56) & 0xFF < 5  # 2017-style line: no end, cpt or PoP (FORMATS §2.6 quirk 21)

        app = "HTTPS" if r.random() < 0.8 else "HTTP"
        method = D.METHODS[r.randrange(len(D.METHODS))]
        path = D.PATHS[r.randrange(len(D.PATHS))]
        qstr = D.QUERIES[r.randrange(len(D.QUERIES))] if r.random() < 0.25 else None
        postbody = None
        ref = D.REFERRERS[r.randrange(len(D.REFERRERS))] if r.random() < 0.4 else None
        name, rule_type = "Normal", 0
        attack_types = attack_ids = rule_names = rule_info = rule_add_info = None
        if kind is None:
            act = D.ACCESS_ACTS[bisect.bisect_right(self._access_cum, r.randrange(self._access_cum[-1]))][0]
        else:
            act = kind.acts[r.randrange(len(kind.acts))]
            name, rule_type = kind.name, kind.rule_type
            if rule_type == 11:
                name = f"IncapRules({D.INCAP_RULE_NAMES[r.randrange(len(D.INCAP_RULE_NAMES))]})"
            method = "GET" if method not in ("GET", "POST", "HEAD") else method
            payloads = D.PAYLOADS.get(rule_type)
            if payloads:
                p_path, p_qstr, p_body = payloads[r.randrange(len(payloads))]
                path = p_path or path
                qstr = p_qstr or qstr
                if p_body is not None:
                    method, postbody = "POST", p_body
                elif method == "POST":
                    method = "GET"
            attack_types, attack_ids, rule_names = self._rule_lists(kind)
            if rule_type == 12:
                rule_add_info = self._api_violation(rule_names)
            elif rule_type == 11 and r.random() < 0.3:
                rule_info = _RULE_INFO_JSON[r.randrange(len(_RULE_INFO_JSON))]
        if postbody is None and method in ("POST", "PUT") and site.logs_body:
            postbody = r.choice(('{"sku":"A-1","qty":2}', "name=Zoë&city=Zürich", "filter=price>=10&sort=asc"))
        if kind is None and site.logs_body and r.random() < 0.05:
            rule_info = _RULE_INFO_JSON[r.randrange(len(_RULE_INFO_JSON))]

        status: int | None
        sip: str | None = None
        spt: int | None = None
        bytes_in: int | None = r.randint(40, 60000)
        if act.startswith("REQ_CACHED"):
            status = 304 if r.random() < 0.2 else 200
            if r.random() < 0.9:
                sip, spt = "0.0.0.0", 0  # FORMATS §2.6 quirk 14; otherwise both absent
        elif act == "REQ_BAD_CLIENT_CLOSED_CONNECTION":
            status, bytes_in = None, None  # quirk 15: no cn1, no in
            sip, spt = site.origin, site.https_port if app == "HTTPS" else 80
        elif act.startswith("REQ_BAD"):
            status = D.BAD_STATUS.get(act, 502)
            sip, spt = site.origin, site.https_port if app == "HTTPS" else 80
        elif act == "REQ_PASSED":
            status = D.PASSED_STATUS[r.randrange(len(D.PASSED_STATUS))] if kind is None else 200
            sip, spt = site.origin, site.https_port if app == "HTTPS" else 80
        elif "CHALLENGE" in act:
            status = 200
        else:
            status = 403
            if r.random() < 0.7:
                bytes_in = None
        duration = 1 + int(r.expovariate(1 / 120)) if sip else r.randint(0, 5)
        xff = self._xff(v.ip) if r.random() < 0.85 else None
        req_headers = res_headers = None
        if site.logs_headers and r.random() < 0.7:
            req_headers = _REQ_HEADERS_JSON[r.randrange(len(_REQ_HEADERS_JSON))]
            res_headers = _RES_HEADERS_JSON[r.randrange(len(_RES_HEADERS_JSON))]
        return Event(
            name=name, rule_type=rule_type, security=kind is not None, start=ts,
            end=None if legacy else ts + duration, file_id=self._session(v), site=site.host, site_id=site.site_id,
            suid=site.suid, customer=site.customer, tag=site.tag, site_tag=site.site_tag, ua=v.agent.ua,
            pop=None if legacy else D.POPS[r.randrange(len(D.POPS))], cap=v.cap, js=v.agent.js, co=v.agent.co,
            vid=v.vid, clappsig=v.clappsig, clapp=v.agent.clapp, dproc=v.agent.dproc, ccode=v.place.ccode,
            city=v.place.city, lat=v.place.lat, lon=v.place.lon, path=path, ref=ref, method=method, qstr=qstr,
            postbody=postbody, status=status, app=app, act=act, request_id=str(r.randint(10**16, 10**18 - 1)),
            src=v.ip, cpt=None if legacy else r.randint(1024, 65535), sip=sip, spt=spt, bytes_in=bytes_in, xff=xff,
            ver=D.TLS[r.randrange(len(D.TLS))] if app == "HTTPS" and r.random() < 0.95 else None,
            caip=self._ip(0.0) if r.random() < 0.01 else None, attack_types=attack_types, attack_ids=attack_ids,
            rule_names=rule_names, rule_info=rule_info, rule_add_info=rule_add_info, req_headers=req_headers,
            res_headers=res_headers, style=style, flags=flags,
        )

    def _xff(self, client: str) -> str:
        """1–3 addresses, IPv4/IPv6 mixed, ``, ``-separated (FORMATS §2.6 quirk 12)."""
        r = self.rng
        n = 1 if r.random() < 0.6 else r.randint(2, 3)
        chain = [client] if r.random() < 0.8 else [self._ip(0.4)]
        chain += [self._ip(0.4) for _ in range(n - 1)]
        return ", ".join(chain)

    def _rule_lists(self, kind: D.AttackKind) -> tuple[str | None, str | None, str]:
        """fileType / filePermission / cs9, lined up by position with trailing commas; sometimes a
        single entry with an empty cs9 (the real SQL injection line, FORMATS §3.5). ACL blocks
        carry no attack ids, only ``cs9=``."""
        r = self.rng
        if kind.rule_type == -1:
            return None, None, ""
        if r.random() < 0.15:
            t, i, _ = kind.entries[r.randrange(len(kind.entries))]
            return t, i, ""
        if kind.rule_type == 12:
            others = kind.entries[:-1]
            picks = r.sample(others, r.choice((0, 1, 2, 2, 2))) + [kind.entries[-1]]
        else:
            picks = r.sample(kind.entries, r.randint(1, len(kind.entries)))
        if kind.rule_type != 12 and r.random() < 0.25:  # empty members: ",High Risk SQL Expressions,,SQL SELECT Expression,"
            picks = [(t, i, "" if j % 2 == 0 else n) for j, (t, i, n) in enumerate(picks)]
            picks.append((picks[0][0], picks[0][1], ""))
        types = ",".join(p[0] for p in picks) + ","
        ids = ",".join(p[1] for p in picks) + ","
        names = ",".join(p[2] for p in picks) + ","
        return types, ids, names

    def _api_violation(self, rule_names: str) -> str:
        """cs11: JSON behind one comma per preceding cs9 entry (FORMATS §2.3, ``,,[{…}]``)."""
        r = self.rng
        lead = "," * max(0, rule_names.count(",") - 1) if r.random() < 0.85 else ""
        body = [{"api_specification_violation_type": D.API_VIOLATIONS[r.randrange(len(D.API_VIOLATIONS))],
                 "parameter_name": r.choice(("somename", "qty", "coupon")), "parameter_value": "x=1"}]
        return lead + _json(body)

