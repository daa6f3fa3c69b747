"""Real corpora for query tests, read by the real reader (so ids and documents are exactly what the
collector stores) and written by the real DuckDB sink, once per session: FORMATS.md §3 sample lines
(:func:`store`), and those with generated files (:func:`rich`: every field type has values)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import read_path
from wafpipe.model import Event
from wafpipe.sinks.duckdb.sink import DuckDBSink
from wafpipe.store.service import ReadService
from wafpipe.tools.generate import generate_files

# FORMATS.md §3.1–3.8 (public samples; copied so that tests do not need ../shared).
LINES = [
    r"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| sourceServiceName=site123.abcd.info siteid=1509732 suid=50005477 requestClientApplication=Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0 deviceFacility=mia src=12.12.12.12 caIP=13.13.13.13 ccode=IL tag=www.elvis.com cicode=Rehovot cs7=31.8969 cs7Label=latitude cs8=34.8186 cs8Label=longitude Customer=CEFcustomer123 ver=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 start=1453290121336 request=site123.abcd.info/main.css ref=www.incapsula.com/lama requestmethod=GET cn1=200 app=HTTP deviceExternalID=33411452762204224 in=54 xff=44.44.44.44 cpt=443",
    r"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=438000490120534212 sourceServiceName=jsc6wzftsr8pj2zk.company.name siteid=61539044 suid=1843222 requestClientApplication=Expanse indexes the network perimeters of our customers. If you have any questions or concerns, please reach out to: sanitized_email.com deviceFacility=atl cs2=false cs2Label=Javascript Support cs3=false cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=a5a4c376-25b5-4c45-9ca5-ee62559c9540 cs4Label=VID cs5=27f1a8f2e99bd4a64e1b9b7deaad6c028c0cd935eab7e772d6b541a0817a54f02afdf5ece1cf5aacd2f792b16534eee4 cs5Label=clappsig dproc=Crawler cs6=Expanse cs6Label=clapp ccode=US cicode=Atlanta cs7=33.7485 cs7Label=latitude cs8=-84.3871 cs8Label=longitude Customer=sanitized_email.com start=1624809714018 request=jsc6wzftsr8pj2zk.company.name/ requestMethod=GET cn1=200 app=HTTP act=REQ_CACHED_FRESH deviceExternalId=269605585508764744 sip=0.0.0.0 spt=0 in=4591 xff=172.105.147.48 cpt=42709 src=172.105.147.48 end=1624809714271",
    r"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1344000210263575150 sourceServiceName=jsc6wzftsr8pj2zk.company.name siteid=61539044 suid=1843222 requestClientApplication=Expanse, a Palo Alto Networks company, searches across the global IPv4 space multiple times per day to identify customers&#39; presences on the Internet. If you would like to be excluded from our scans, please send IP addresses/domains to: sanitized_email.com deviceFacility=iad cs2=false cs2Label=Javascript Support cs3=false cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=acd48a1b-daa0-4ef8-b4d0-9084708bf3a7 cs4Label=VID cs5=3ef4755ba073991770f204961c0d4e188c0cd935eab7e772d6b541a0817a54f02afdf5ece1cf5aacd2f792b16534eee4 cs5Label=clappsig dproc=Developer Tool cs6=Go HTTP library cs6Label=clapp ccode=US cicode=Washington cs7=38.894 cs7Label=latitude cs8=-77.0365 cs8Label=longitude Customer=sanitized_email.com start=1624671299714 request=jsc6wzftsr8pj2zk.company.name/ requestMethod=GET app=HTTPS act=REQ_BAD_CLIENT_CLOSED_CONNECTION deviceExternalId=963340059111589198 sip=35.156.26.77 spt=8443 xff=33.83.33.23 cpt=39255 src=34.86.35.29 ver=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 end=1624671309677",
    r'CEF:0|Incapsula|SIEMintegration|1|1|Illegal Resource Access|3| fileId=3412341160002518171 sourceServiceName=site123.abcd.info siteid=1509732 suid=50005477 requestClientApplication=Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0 deviceFacility=mia cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support ccode=IL tag=www.elvis.com cn1=200 in=54 xff=44.44.44.44 cs1=NOT_SUPPORTED cs1Label=Cap Support cs4=c2e72124-0e8a-4dd8-b13b-3da246af3ab2 cs4Label=VID cs5=de3c633ac428e0678f3aac20cf7f239431e54cbb8a17e8302f53653923305e1835a9cd871db32aa4fc7b8a9463366cc4 cs5Label=clappsig dproc=Browser cs6=Firefox cs6Label=clapp ccode=IL cicode=Rehovot cs7=31.8969 cs7Label=latitude cs8=34.8186 cs8Label=longitude Customer=CEFcustomer123 siteTag=my-site-tag start=123456789 request=site123.abcd.info/ requestMethod=GET qstr=p\=%2fetc%2fpasswd app=HTTP act=REQ_CHALLENGE_CAPTCHA deviceExternalId=33411452762204224 cpt=443 src=12.12.12.12 ver=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 end=223456789 additionalReqHeaders=[{"Accept":"*/*"},{"x-v":"1"},{"x-fapi-interaction-id":"10.10.10.10"}] additionalResHeaders=[{"Content-Type":"text/html; charset\=UTF-8"}] filetype=30037,1001, filepermission=2,1, cs9=Block Malicious User,High Risk Resources, cs9Label=Rule name cs11=,,[{"api_specification_violation_type":"INVALID_PARAM_NAME","parameter_name":"somename"}] cs11Label=Rule Additional Info',
    r"CEF:0|Incapsula|SIEMintegration|1|1|SQL Injection|0| fileId=536000420203633562 sourceServiceName=jsc6wzftsr8pj2zk.company.name siteid=61539044 suid=1843222 requestClientApplication=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/85.0.4183.102 Safari/537.36 deviceFacility=fra cs2=false cs2Label=Javascript Support cs3=false cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=3a5239f0-eba1-4d10-9edd-63d078ef11e7 cs4Label=VID cs5=1fa33ee720f821199422001fb69865785b18d140b29684b23ac978ead4910824acce04db7a799841bb033029b4c72b10e33740ea4d2972210f96e3365d25eb25f8148c211177e7e61effce9c12a7de9f1eea71dd57d107a464dfcc54046c78400f9eedd9b846bb0491abe72a4b988e7cd3e7117283cee9f556726334972b7ce9 cs5Label=clappsig dproc=Unclassified cs6=Bot cs6Label=clapp ccode=UA cicode=Kyiv cs7=50.5183 cs7Label=latitude cs8=30.5088 cs8Label=longitude Customer=sanitized_email.com start=1624459989430 request=jsc6wzftsr8pj2zk.company.name/ requestMethod=GET qstr=e9db863b46KCYodWlkPSopKHVpZD0qKSkofCh1aWQ9KikodXNlclBhc3N3b3JkPXtNRDV9WDAzTU8xcW5aZFlkZ3lmZXVJTFBtUT09KSk app=HTTP act=REQ_BLOCKED_SESSION deviceExternalId=300754127159822978 cpt=63326 src=77.222.131.19 end=1624459989431 fileType=50033 filePermission=666 cs9= cs9Label=Rule name",
    r'CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1234567890123456789 sourceServiceName=example.com siteid=1234567 suid=123456 requestClientApplication="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.0.0 Safari/537.36 Edg/99.0.0.0" deviceFacility=abc cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support ccode=US cs7=37.751 cs7Label=latitude cs8=-97.822 cs8Label=longitude Customer=ExampleCustomer start=1720396716929 request=example.com/path/to/resource ref=https://example.com/path/to/referrer requestMethod=GET cn1=200 app=HTTPS act=REQ_CACHED_VALIDATED deviceExternalId=12345678901234567 sip=123.123.123.123 spt=443 in=451 xff=123.123.123.123 cs10=[{"rule_id":"1234567","type":"AD_HEADER_RW","header_name":"Content-Security-Policy","header_rewrite":"frame-ancestors \'self\' https://example.com"}] cs10Label=Rule Info cpt=10401 src=123.123.123.123 ver=TLSv1.3 TLS_AES_128_GCM_SHA256 end=1720396717135',
    r'CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1510000220019876543 sourceServiceName=shop.example.com siteid=12345678 suid=1234567 requestClientApplication=Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15 deviceFacility=fra cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=0f6c3c1e-2b7a-4d6e-9a51-3f2d8c7b9e10 cs4Label=VID cs5=5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592 cs5Label=clappsig dproc=Browser cs6=Safari cs6Label=clapp ccode=DE cicode=Frankfurt am Main cs7=50.1155 cs7Label=latitude cs8=8.6842 cs8Label=longitude Customer=Example Corp start=1718000000123 request=shop.example.com/api/cart requestMethod=POST cn1=201 app=HTTPS act=REQ_PASSED deviceExternalId=512340987654321098 sip=2001:db8:10::25 spt=443 in=512 xff=2001:db8:abcd::17, 198.51.100.23 cpt=52144 src=2001:db8:abcd::17 ver=TLSv1.3 TLS_AES_256_GCM_SHA384 end=1718000000187 additionalReqHeaders=[{"Content-Type":"application/json"},{"X-Request-Id":"a1b2c3"}] additionalResHeaders=[{"Content-Type":"application/json; charset\=utf-8"}]',
]


def write_log(
    path: Path, lines: list[str], *, config_id: str = "12345", start: str = "1705705619206"
) -> Path:
    """An uncompressed Imperva file (FORMATS.md §1.2) with a correct MD5 of its body."""
    body = "".join(line + "\n" for line in lines).encode()
    header = (
        f"accountId:123456\nconfigId:{config_id}\nchecksum:{hashlib.md5(body).hexdigest()}\n"
        f"format:CEF\nstartTime:{start}\nendTime:1705705805378\n|==|\n"
    ).encode()
    path.write_bytes(header + body)
    return path


def read_events(path: Path) -> list[Event]:
    """Every event the real reader makes of ``path`` (problems would fail the test)."""
    items = list(read_path(path).items())
    assert all(isinstance(i, Event) for i in items), [i for i in items if not isinstance(i, Event)]
    return [i for i in items if isinstance(i, Event)]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Event]:
    return read_events(write_log(tmp_path_factory.mktemp("corpus") / "1234_1.log", LINES))


class CompiledStore:
    """The store the DuckDB sink wrote, read as the read side reads it: a compiled ``WHERE`` runs
    on a connection of the sink's own (:meth:`count`), and :attr:`service` is the read service over
    the same store."""

    def __init__(self, sink: DuckDBSink) -> None:
        self.sink = sink
        self.service = ReadService(sink.cursor)

    def count(self, where_sql: str = "TRUE", params: Sequence[Any] = ()) -> int:
        cur = self.sink.cursor()
        try:
            row = cur.execute(f"SELECT count(*) FROM events WHERE {where_sql}", list(params)).fetchone()  # noqa: S608
        finally:
            cur.close()
        return int(row[0]) if row else 0


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory, corpus: list[Event]) -> Iterator[CompiledStore]:
    sink = DuckDBSink(tmp_path_factory.mktemp("store") / "events.duckdb")
    sink.open()
    assert sink.write(batch_of(corpus)).written == len(corpus)
    yield CompiledStore(sink)
    sink.close()


class RichStore(CompiledStore):
    """A store of generated CEF events and the FORMATS samples, and the documents the core emitted
    for them (``docs``: id → document), to check each query's count against."""

    def __init__(self, sink: DuckDBSink, docs: dict[str, dict[str, Any]]) -> None:
        super().__init__(sink)
        self.docs = docs


@pytest.fixture(scope="session")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RichStore]:
    root = tmp_path_factory.mktemp("rich")
    paths = generate_files(root / "in", events=600, files=2, seed=5, attack_ratio=0.4,
                           start=datetime(2024, 6, 10, 6, tzinfo=UTC), end=datetime(2024, 6, 10, 8, tzinfo=UTC))
    paths.append(write_log(root / "in" / "1234_1.log", LINES))
    sink = DuckDBSink(root / "events.duckdb")
    sink.open()
    docs: dict[str, dict[str, Any]] = {}
    for path in paths:
        for batch in read_path(path, batch_rows=250, documents=True).batches(path.name):
            sink.write(batch)
            for line in batch.ndjson().splitlines():
                doc = orjson.loads(line)
                docs[doc.pop("_id")] = doc
    assert RichStore(sink, docs).count() == len(docs) == 600 + len(LINES)
    yield RichStore(sink, docs)
    sink.close()
