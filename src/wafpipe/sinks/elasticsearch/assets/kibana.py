"""Kibana 8.x saved objects: a data view, Lens visualizations, a map and two dashboards.

Why built in Python rather than shipped as an exported file: several attributes are JSON *inside a
string* (``panelsJSON``, ``layerListJSON`` …) and every reference name must match what the object
body points at; building both from one place keeps them consistent, and the tests check the result
against the test Kibana's import rules. ``python -m wafpipe.sinks.elasticsearch.assets.kibana > x.ndjson`` writes
the same NDJSON for a manual import (Stack Management → Saved objects → Import).

Objects are *by reference* (each Lens is its own saved object, dashboards point at them) with fixed
ids, so importing again with ``overwrite`` replaces rather than duplicates. The shapes are those of
Kibana 8.9+ exports (``formBased`` datasource, pie ``metrics`` list), declared through
``typeMigrationVersion`` so newer Kibanas migrate them forward.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from wafpipe.sinks.elasticsearch.assets.templates import INDEX_PATTERN

DATA_VIEW_ID = "wafpipe-imperva-waf"
CORE_MIGRATION = "8.8.0"
TYPE_MIGRATION = {"index-pattern": "8.0.0", "lens": "8.9.0", "map": "8.4.0", "dashboard": "8.9.0"}
SECURITY = "imperva.waf.security_event : true"
LAYER = "layer1"


def _js(value: Any) -> str:
    return orjson.dumps(value).decode()


def _obj(otype: str, oid: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict[str, Any]:
    return {"type": otype, "id": oid, "attributes": attributes, "references": references, "managed": False,
            "coreMigrationVersion": CORE_MIGRATION, "typeMigrationVersion": TYPE_MIGRATION[otype]}


def data_view() -> dict[str, Any]:
    return _obj("index-pattern", DATA_VIEW_ID, {
        "title": INDEX_PATTERN, "name": "Imperva Cloud WAF (wafpipe)", "timeFieldName": "@timestamp",
        "allowNoIndex": True, "fieldFormatMap": "{}", "runtimeFieldMap": "{}", "sourceFilters": "[]",
    }, [])


# ---------------------------------------------------------------------------------- Lens columns
def _count(label: str = "Events") -> dict[str, Any]:
    return {"label": label, "customLabel": True, "dataType": "number", "operationType": "count",
            "isBucketed": False, "scale": "ratio", "sourceField": "___records___",
            "params": {"emptyAsNull": False, "format": {"id": "number", "params": {"decimals": 0}}}}


def _date() -> dict[str, Any]:
    return {"label": "@timestamp", "dataType": "date", "operationType": "date_histogram",
            "sourceField": "@timestamp", "isBucketed": True, "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False}}


def _terms(field: str, label: str, size: int, order_by: str, data_type: str = "string") -> dict[str, Any]:
    return {"label": label, "customLabel": True, "dataType": data_type, "operationType": "terms",
            "sourceField": field, "isBucketed": True, "scale": "ordinal",
            "params": {"size": size, "orderBy": {"type": "column", "columnId": order_by},
                       "orderDirection": "desc", "otherBucket": True, "missingBucket": False,
                       "parentFormat": {"id": "terms"}, "include": [], "exclude": [],
                       "includeIsRegex": False, "excludeIsRegex": False}}


def _lens(oid: str, title: str, vis_type: str, columns: dict[str, dict[str, Any]],
          visualization: dict[str, Any], *, query: str = "", description: str = "") -> dict[str, Any]:
    state = {
        "datasourceStates": {"formBased": {"layers": {LAYER: {
            "columns": columns, "columnOrder": list(columns), "incompleteColumns": {}, "sampling": 1}}}},
        "visualization": visualization,
        "query": {"query": query, "language": "kuery"},
        "filters": [], "internalReferences": [], "adHocDataViews": {},
    }
    refs = [{"type": "index-pattern", "id": DATA_VIEW_ID, "name": f"indexpattern-datasource-layer-{LAYER}"}]
    return _obj("lens", oid, {"title": title, "description": description, "visualizationType": vis_type,
                              "state": state}, refs)


def _xy(series: str, x: str, y: str, split: str | None = None) -> dict[str, Any]:
    layer = {"layerId": LAYER, "layerType": "data", "seriesType": series, "xAccessor": x, "accessors": [y]}
    if split:
        layer["splitAccessor"] = split
    return {"legend": {"isVisible": True, "position": "right"}, "valueLabels": "hide",
            "preferredSeriesType": series, "fittingFunction": "None", "layers": [layer],
            "axisTitlesVisibilitySettings": {"x": True, "yLeft": True, "yRight": True},
            "tickLabelsVisibilitySettings": {"x": True, "yLeft": True, "yRight": True},
            "gridlinesVisibilitySettings": {"x": True, "yLeft": True, "yRight": True}}


def _pie(group: str, metric: str, shape: str = "donut") -> dict[str, Any]:
    return {"shape": shape, "layers": [{
        "layerId": LAYER, "layerType": "data", "primaryGroups": [group], "metrics": [metric],
        "numberDisplay": "percent", "categoryDisplay": "default", "legendDisplay": "show",
        "nestedLegend": False}]}


def _table(*column_ids: str) -> dict[str, Any]:
    return {"layerId": LAYER, "layerType": "data", "columns": [{"columnId": c} for c in column_ids]}


def visualizations() -> list[dict[str, Any]]:
    return [
        _lens("wafpipe-imperva-waf-attacks-over-time", "Imperva WAF: security events over time by attack type",
              "lnsXY", {"t": _date(), "attack": _terms("rule.category", "Attack type", 10, "n"),
                        "n": _count()},
              _xy("bar_stacked", "t", "n", "attack"), query=SECURITY),
        _lens("wafpipe-imperva-waf-top-attackers", "Imperva WAF: top attackers (source.ip)", "lnsDatatable",
              {"ip": _terms("source.ip", "Source IP", 20, "n", "ip"),
               "cc": _terms("source.geo.country_iso_code", "Country", 1, "n"), "n": _count("Security events")},
              _table("ip", "cc", "n"), query=SECURITY),
        _lens("wafpipe-imperva-waf-blocked-vs-passed", "Imperva WAF: blocked vs passed", "lnsPie",
              {"action": _terms("imperva.waf.action_class", "Action", 10, "n"), "n": _count()},
              _pie("action", "n")),
        _lens("wafpipe-imperva-waf-outcome-over-time", "Imperva WAF: event outcome over time", "lnsXY",
              {"t": _date(), "outcome": _terms("event.outcome", "Outcome", 5, "n"), "n": _count()},
              _xy("bar_stacked", "t", "n", "outcome")),
        _lens("wafpipe-imperva-waf-top-sites", "Imperva WAF: top sites", "lnsXY",
              {"site": _terms("url.domain", "Site", 10, "n"), "n": _count("Requests")},
              _xy("bar_horizontal", "site", "n")),
        _lens("wafpipe-imperva-waf-top-urls", "Imperva WAF: top URLs", "lnsDatatable",
              {"site": _terms("url.domain", "Site", 10, "n"), "path": _terms("url.path", "Path", 10, "n"),
               "n": _count("Requests")}, _table("site", "path", "n")),
        _lens("wafpipe-imperva-waf-attacked-urls", "Imperva WAF: most attacked URLs", "lnsDatatable",
              {"site": _terms("url.domain", "Site", 10, "n"), "path": _terms("url.path", "Path", 10, "n"),
               "n": _count("Security events")}, _table("site", "path", "n"), query=SECURITY),
        _lens("wafpipe-imperva-waf-client-types", "Imperva WAF: client types (bots vs browsers)", "lnsPie",
              {"type": _terms("imperva.waf.client.type", "Client type", 10, "n"), "n": _count()},
              _pie("type", "n", "pie")),
        _lens("wafpipe-imperva-waf-bots", "Imperva WAF: user agents by client type", "lnsXY",
              {"ua": _terms("user_agent.name", "User agent", 15, "n"),
               "type": _terms("imperva.waf.client.type", "Client type", 5, "n"), "n": _count()},
              _xy("bar_horizontal_stacked", "ua", "n", "type")),
    ]


def attack_map() -> dict[str, Any]:
    layers = [
        {"id": "basemap", "type": "EMS_VECTOR_TILE", "label": None, "minZoom": 0, "maxZoom": 24, "alpha": 1,
         "visible": True, "includeInFitToBounds": True, "locale": "autoselect",
         "sourceDescriptor": {"type": "EMS_TMS", "isAutoSelect": True, "lightModeDefault": "road_map_desaturated"},
         "style": {"type": "EMS_VECTOR_TILE", "color": ""}},
        {"id": "attack-sources", "type": "HEATMAP", "label": "Attack sources", "minZoom": 0, "maxZoom": 24,
         "alpha": 0.75, "visible": True, "includeInFitToBounds": True,
         "sourceDescriptor": {"type": "ES_GEO_GRID", "id": "attack-sources-grid", "geoField": "source.geo.location",
                              "requestType": "heatmap", "resolution": "COARSE", "metrics": [{"type": "count"}],
                              "applyGlobalQuery": True, "applyGlobalTime": True, "applyForceRefresh": True,
                              "indexPatternRefName": "layer_1_source_index_pattern"},
         "style": {"type": "HEATMAP", "colorRampName": "theclassic"}},
    ]
    state = {"zoom": 1.5, "center": {"lon": 0, "lat": 20}, "timeFilters": {"from": "now-24h", "to": "now"},
             "refreshConfig": {"isPaused": True, "interval": 60000}, "query": {"query": SECURITY, "language": "kuery"},
             "filters": [], "adHocDataViews": [], "settings": {"autoFitToDataBounds": False,
                                                               "initialLocation": "LAST_SAVED_LOCATION"}}
    return _obj("map", "wafpipe-imperva-waf-attack-map", {
        "title": "Imperva WAF: where attacks come from (source.geo.location)", "description": "",
        "layerListJSON": _js(layers), "mapStateJSON": _js(state),
        "uiStateJSON": _js({"isLayerTOCOpen": True, "openTOCDetails": []}),
    }, [{"type": "index-pattern", "id": DATA_VIEW_ID, "name": "layer_1_source_index_pattern"}])


def _dashboard(oid: str, title: str, description: str, panels: list[tuple[str, str, int, int, int, int]]) -> dict[str, Any]:
    """``panels``: (saved object type, id, x, y, w, h) on Kibana's 48-column grid."""
    body, refs = [], []
    for n, (ptype, pid, x, y, w, h) in enumerate(panels, 1):
        index = f"p{n}"
        body.append({"version": TYPE_MIGRATION["dashboard"], "type": ptype, "panelIndex": index,
                     "gridData": {"x": x, "y": y, "w": w, "h": h, "i": index},
                     "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{index}"})
        refs.append({"name": f"{index}:panel_{index}", "type": ptype, "id": pid})
    return _obj("dashboard", oid, {
        "title": title, "description": description, "panelsJSON": _js(body), "timeRestore": False,
        "optionsJSON": _js({"useMargins": True, "syncColors": False, "syncCursor": True, "syncTooltips": False,
                            "hidePanelTitles": False}),
        "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _js({"query": {"query": "", "language": "kuery"},
                                                           "filter": []})},
    }, refs)


def dashboards() -> list[dict[str, Any]]:
    return [
        _dashboard("wafpipe-imperva-waf-attacks", "[wafpipe] Imperva Cloud WAF: attacks",
                   "Security events from Imperva Cloud WAF (imported by wafpipe elastic setup)", [
                       ("lens", "wafpipe-imperva-waf-attacks-over-time", 0, 0, 48, 14),
                       ("map", "wafpipe-imperva-waf-attack-map", 0, 14, 28, 18),
                       ("lens", "wafpipe-imperva-waf-top-attackers", 28, 14, 20, 18),
                       ("lens", "wafpipe-imperva-waf-attacked-urls", 0, 32, 48, 14),
                   ]),
        _dashboard("wafpipe-imperva-waf-traffic", "[wafpipe] Imperva Cloud WAF: traffic",
                   "All requests seen by Imperva Cloud WAF: outcomes, sites, URLs, bots", [
                       ("lens", "wafpipe-imperva-waf-blocked-vs-passed", 0, 0, 16, 14),
                       ("lens", "wafpipe-imperva-waf-outcome-over-time", 16, 0, 32, 14),
                       ("lens", "wafpipe-imperva-waf-top-sites", 0, 14, 20, 16),
                       ("lens", "wafpipe-imperva-waf-top-urls", 20, 14, 28, 16),
                       ("lens", "wafpipe-imperva-waf-client-types", 0, 30, 16, 16),
                       ("lens", "wafpipe-imperva-waf-bots", 16, 30, 32, 16),
                   ]),
    ]


def saved_objects() -> list[dict[str, Any]]:
    """Every object, referenced ones first (the order of an export)."""
    return [data_view(), *visualizations(), attack_map(), *dashboards()]


def ndjson(objects: list[dict[str, Any]] | None = None) -> bytes:
    return b"".join(orjson.dumps(o) + b"\n" for o in (saved_objects() if objects is None else objects))


if __name__ == "__main__":
    sys.stdout.buffer.write(ndjson())
