"""What a wafpipe of document shape 1 left in a cluster, for the upgrade tests of ``elastic setup``.

Shape 1 (before the native core) kept some values twice and had fields shape 2 removed; its mappings
component carried no digest of the mappings in the indices it made. The stand-in for it here is the
current mappings without that digest and with one field that only shape 1 had, ``V1_FIELD``, so a
test can tell an index made for shape 1 (it maps the field) from one made by the upgrade.
"""

from __future__ import annotations

import copy
from typing import Any

from wafpipe.sinks.elasticsearch.assets import templates as tpl

V1_FIELD = "imperva.waf.v1_only"


def older_mappings_component(flavor: str) -> dict[str, Any]:
    """The ``logs-imperva.waf@mappings`` body as a shape-1 wafpipe installed it."""
    body = copy.deepcopy(tpl.os_mappings_component() if flavor == "opensearch" else tpl.es_mappings_component())
    mappings = body["template"]["mappings"]
    mappings.pop("_meta", None)
    mappings["properties"]["imperva"]["properties"]["waf"]["properties"]["v1_only"] = {"type": "keyword"}
    body["version"] = 1
    body["_meta"] = {"managed_by": "wafpipe", "version": 1, "wafpipe_hash": "shape-1"}
    return body


def older_document(n: int, namespace: str) -> dict[str, Any]:
    """A document as shape 1 wrote it, with the field only shape 1 had."""
    return {
        "@timestamp": f"2024-06-10T06:{n % 60:02d}:00Z",
        "source": {"ip": f"10.1.0.{n % 250}"},
        "imperva": {"waf": {"v1_only": f"old-{n}"}},
        "data_stream": {"type": "logs", "dataset": "imperva.waf", "namespace": namespace},
    }
