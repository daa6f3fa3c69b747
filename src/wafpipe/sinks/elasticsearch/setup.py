"""``wafpipe elastic setup [-c …] [--dry-run]``: install the Elasticsearch/OpenSearch/Kibana assets.

For every sink of type ``elasticsearch``: the ILM policy, our two component templates and the index
template (:mod:`wafpipe.sinks.elasticsearch.assets.templates`); with a ``[kibana]`` section, the data view,
visualizations and dashboards through the saved-objects import API. For every ``opensearch`` sink:
the components and index template with OpenSearch types, an ISM policy, and in rollover-alias mode
(``use_data_stream = false``) one bootstrap write index per namespace and, where the cluster has the
ISM plugin, one template per namespace naming its rollover alias (a cluster without ISM refuses that
setting, and nothing else would read it). A namespace with a retention of its own
(``ilm.namespaces`` / ``ism.namespaces``) gets its own policy, ``logs-imperva.waf-<ns>``: under ILM
named by an index template of that name at a higher priority, under ISM claimed by the policy's own
``ism_template`` at a higher priority.

With the detections converted by the command line (:mod:`wafpipe.sinks.elasticsearch.rules`): the
rules into Kibana's detection engine (with a ``[kibana]`` section) and alerting monitors into every
OpenSearch cluster that has the alerting plugin; ``--no-rules`` leaves them out.

Last, every existing ``logs-imperva.waf-*`` data stream (or rollover alias) whose write index was
made for other mappings is rolled over (:mod:`wafpipe.sinks.elasticsearch.upgrade`): after a change of
the document shape new documents get the new mappings, and the earlier ones stay searchable.

Idempotent by design: each asset carries a digest of its own body (``_meta.wafpipe_hash``, or the
ISM policy's description), so a second run GETs each object, sees the same digest and reports
``unchanged`` without writing. Kibana objects are compared attribute by attribute (a subset check,
since Kibana adds fields of its own) and only missing or different ones are imported.

``--dry-run`` prints every write request (method, URL, body) and sends nothing, not even the GETs.
Exit codes: 0 done, 1 a request failed, 2 configuration error (no cluster sink, missing secret).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from wafpipe.errors import ConfigError, redact
from wafpipe.sinks.elasticsearch import upgrade
from wafpipe.sinks.elasticsearch.assets import kibana as kb
from wafpipe.sinks.elasticsearch.assets import templates as tpl
from wafpipe.sinks.elasticsearch.client import ClusterClient, Transient, error_reason, make_client
from wafpipe.sinks.elasticsearch.rules import RuleBundle, install_kibana, install_monitors
from wafpipe.sinks.elasticsearch.sink import NamespaceRouter, target_name

if TYPE_CHECKING:
    from wafpipe.config.root import Config
    from wafpipe.sinks.elasticsearch.config import ElasticsearchSinkConfig, KibanaConfig, OpenSearchSinkConfig


@dataclass
class Step:
    """One asset: how to read what the cluster has, and how to write ours."""

    what: str
    path: str
    body: Any
    current: Callable[[Any], Any]  # GET body → the value to compare with ``desired``
    desired: Any
    method: str = "PUT"
    get_path: str | None = None  # defaults to ``path``
    write_path: Callable[[Any], str] | None = None  # GET body → path to write (ISM needs seq_no)
    note_on_update: str = ""
    needs_ism: bool = False  # only the ISM plugin reads it: a cluster without ISM refuses it


_ROLLOVER_NOTE = ("indices that already exist keep what they were made with; a stream whose mappings changed is "
                  "rolled over below, the others get new settings at their next rollover")


def _meta_hash(body: dict[str, Any]) -> Any:
    return (body.get("_meta") or {}).get("wafpipe_hash")


def _first(key: str, inner: str) -> Callable[[Any], Any]:
    """``{"component_templates": [{"component_template": {...}}]}`` → the hash inside."""
    def get(resp: Any) -> Any:
        items = resp.get(key) if isinstance(resp, dict) else None
        return _meta_hash(items[0][inner]) if items else None
    return get


def _ilm_hash(name: str) -> Callable[[Any], Any]:
    def get(resp: Any) -> Any:
        policy = ((resp or {}).get(name) or {}).get("policy") or {}
        return _meta_hash(policy)
    return get


def _ism_description(resp: Any) -> Any:
    return ((resp or {}).get("policy") or {}).get("description")


def _ism_write_path(name: str) -> Callable[[Any], str]:
    def path(resp: Any) -> str:
        if isinstance(resp, dict) and "_seq_no" in resp:
            return f"/_plugins/_ism/policies/{name}?if_seq_no={resp['_seq_no']}&if_primary_term={resp['_primary_term']}"
        return f"/_plugins/_ism/policies/{name}"
    return path


def _template_steps(components: list[tuple[str, dict[str, Any]]], template: dict[str, Any]) -> list[Step]:
    steps = [Step(f"component template {n}", f"/_component_template/{n}", b, _first(
        "component_templates", "component_template"), _meta_hash(b), note_on_update=_ROLLOVER_NOTE)
             for n, b in components]
    steps.append(Step(f"index template {tpl.TEMPLATE}", f"/_index_template/{tpl.TEMPLATE}", template,
                      _first("index_templates", "index_template"), _meta_hash(template)))
    return steps


def _ilm_step(name: str, policy: dict[str, Any]) -> Step:
    return Step(f"ILM policy {name}", f"/_ilm/policy/{name}", policy, _ilm_hash(name), _meta_hash(policy["policy"]))


def _ism_step(name: str, policy: dict[str, Any]) -> Step:
    return Step(f"ISM policy {name}", f"/_plugins/_ism/policies/{name}", policy, _ism_description,
                policy["policy"]["description"], write_path=_ism_write_path(name))


def elasticsearch_steps(entry: ElasticsearchSinkConfig) -> list[Step]:
    """The policy, the components and the index template; then, per namespace with a retention of
    its own (``ilm.namespaces``), its policy and the higher-priority template that names it."""
    ilm = entry.ilm
    steps = [
        _ilm_step(tpl.POLICY, tpl.ilm_policy(**ilm.lifecycle())),
        *_template_steps([(tpl.SETTINGS_COMPONENT, tpl.es_settings_component()),
                          (tpl.MAPPINGS_COMPONENT, tpl.es_mappings_component())], tpl.es_index_template()),
    ]
    for ns in sorted(ilm.namespaces):
        name, body = tpl.namespace_name(ns), tpl.es_namespace_template(ns)
        steps.append(_ilm_step(name, tpl.ilm_policy(**ilm.lifecycle(ns))))
        steps.append(Step(f"index template {name}", f"/_index_template/{name}", body,
                          _first("index_templates", "index_template"), _meta_hash(body), note_on_update=_ROLLOVER_NOTE))
    return steps


def opensearch_steps(entry: OpenSearchSinkConfig) -> list[Step]:
    """As for Elasticsearch; a namespace's own retention is an ISM policy whose ``ism_template``
    claims that namespace's new indices at a higher priority (no template names it)."""
    ism = entry.ism
    steps = [
        _ism_step(tpl.POLICY, tpl.ism_policy(**ism.lifecycle())),
        *_template_steps([(tpl.SETTINGS_COMPONENT, tpl.os_settings_component()),
                          (tpl.MAPPINGS_COMPONENT, tpl.os_mappings_component())],
                         tpl.os_index_template(entry.use_data_stream)),
        *(_ism_step(tpl.namespace_name(ns), tpl.ism_policy(**ism.lifecycle(ns), namespace=ns))
          for ns in sorted(ism.namespaces)),
    ]
    if not entry.use_data_stream:
        for ns in NamespaceRouter(entry.namespace, list(entry.namespace_rules)).namespaces():
            alias = target_name(ns)
            body = tpl.os_alias_template(alias)
            steps.append(Step(f"index template {alias}", f"/_index_template/{alias}", body,
                              _first("index_templates", "index_template"), _meta_hash(body), needs_ism=True))
            steps.append(Step(f"write index {alias}-000001 (alias {alias})", f"/{alias}-000001",
                              {"aliases": {alias: {"is_write_index": True}}}, lambda _r: True, True,
                              get_path=f"/_alias/{alias}"))
    return steps


class Setup:
    """Runs the steps and reports one line per object."""

    def __init__(self, out: TextIO, dry_run: bool) -> None:
        self.out = out
        self.dry_run = dry_run
        self.failures = 0
        self.secrets: list[str] = []  # API keys and passwords read so far: never printed
        self.ism_missing = False  # the current cluster answered that it has no ISM plugin

    def say(self, text: str) -> None:
        """Every line goes through :func:`~wafpipe.errors.redact`: no URL credentials, no secret."""
        self.out.write(redact(text, self.secrets) + "\n")

    def show_request(self, method: str, url: str, body: Any) -> None:
        self.say(f"{method} {url}")
        if isinstance(body, bytes):
            self.say(body.decode().rstrip("\n"))
        elif body is not None:
            self.say(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
        self.say("")

    def cluster(self, label: str, base: str, client: ClusterClient | None, steps: list[Step],
                target: tuple[str, bool] | None = None) -> None:
        """Apply ``steps``; then, with ``target`` = (template flavour, data streams?), roll over the
        existing streams whose write index has other mappings (:mod:`~wafpipe.sinks.elasticsearch.upgrade`)."""
        self.say(f"{label} ({base})")
        self.ism_missing = False
        failures = self.failures
        for step in steps:
            if self.dry_run or client is None:
                self.show_request(step.method, base.rstrip("/") + step.path, step.body)
                continue
            try:
                self._apply(client, step)
            except Transient as exc:
                self.failures += 1
                self.say(f"  {step.what}: FAILED: {exc}")
                return  # the cluster is unreachable: the next steps would fail the same way
        if target is None:
            return
        flavor, data_streams = target
        kind = "data stream" if data_streams else "rollover alias"
        if self.dry_run or client is None:
            self.say(f"then: POST {base.rstrip('/')}/<{kind.replace(' ', '-')}>/_rollover for each existing "
                     f"{upgrade.PATTERN} {kind} whose write index has other mappings (found when run)\n")
        elif self.failures == failures:  # never roll over onto templates that failed to install
            self._upgrade(client, flavor, data_streams)

    def _upgrade(self, client: ClusterClient, flavor: str, data_streams: bool) -> None:
        try:
            for target in upgrade.stale_targets(client, data_streams, flavor):
                new_index = upgrade.roll_over(client, target)
                self.say(f"  {target.kind} {target.name}: rolled over to {new_index}: its write index "
                         f"{target.write_index} was made for other mappings (its documents stay searchable)")
        except (upgrade.UpgradeError, Transient) as exc:
            self.failures += 1
            self.say(f"  rolling existing streams onto the new mappings: FAILED: {exc}")

    def _apply(self, client: ClusterClient, step: Step) -> None:
        if step.needs_ism and self.ism_missing:
            self.say(f"  {step.what}: skipped: it only names the rollover alias for ISM, which this cluster "
                     "does not have (the index template logs-imperva.waf maps these indices)")
            return
        status, current = client.request("GET", step.get_path or step.path)
        if status == 400 and "no handler" in str(current) and step.path.startswith("/_plugins/_ism"):
            self.ism_missing = True
            self.say(f"  {step.what}: skipped: the cluster has no Index State Management plugin, so indices "
                     "are neither rolled over nor deleted by wafpipe's policy")
            return
        exists = status == 200
        if exists and step.current(current) == step.desired:
            self.say(f"  {step.what}: unchanged")
            return
        path = step.write_path(current if exists else None) if step.write_path else step.path
        status, resp = client.request(step.method, path, step.body)
        if status < 300:
            self.say(f"  {step.what}: {'updated' if exists else 'created'}")
            if exists and step.note_on_update:
                self.say(f"    note: {step.note_on_update}")
            return
        detail = error_reason(resp["error"]) if isinstance(resp, dict) and "error" in resp else str(resp)[:300]
        self.failures += 1
        self.say(f"  {step.what}: FAILED: HTTP {status}: {client.redact(detail)}")

    # ------------------------------------------------------------------------------ Kibana
    def kibana(self, cfg: KibanaConfig, rules: RuleBundle | None = None) -> None:
        base = cfg.url.rstrip("/") + ("" if cfg.space == "default" else f"/s/{cfg.space}")
        objects = kb.saved_objects()
        self.say(f"kibana ({base})")
        if self.dry_run:
            self.show_request("POST", f"{base}/api/saved_objects/_import?overwrite=true", kb.ndjson(objects))
            if rules is not None:
                install_kibana(self, None, base, rules)
            return
        import httpx

        try:
            with self._kibana_http(cfg) as http:
                todo = self._kibana_diff(http, base, objects)
                if todo:
                    self._kibana_import(http, base, todo)
                if rules is not None:
                    install_kibana(self, http, base, rules)
        except httpx.HTTPError as exc:
            self.failures += 1
            self.say(f"  FAILED: {redact(f'{type(exc).__name__}: {exc}', self.secrets)}")

    def _kibana_http(self, cfg: KibanaConfig) -> Any:
        """An ``httpx.Client`` with Kibana's ``kbn-xsrf`` header and the configured credentials."""
        import httpx

        headers = {"kbn-xsrf": "wafpipe"}
        api_key = cfg.secret("api_key", required=False) if cfg.api_key_env else None
        password = cfg.secret("password", required=False) if cfg.password_env else None
        auth = None
        if api_key:
            headers["Authorization"] = f"ApiKey {api_key}"
        elif cfg.username:
            auth = httpx.BasicAuth(cfg.username, password or "")
        verify: Any = cfg.verify_certs
        if cfg.ca_file and cfg.verify_certs:
            import ssl

            verify = ssl.create_default_context(cafile=str(cfg.ca_file))
        self.secrets.extend(s for s in (api_key, password) if s)
        return httpx.Client(headers=headers, auth=auth, verify=verify, timeout=30.0)

    def _kibana_diff(self, http: Any, base: str, objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
        todo = []
        for obj in objects:
            what = f"{obj['type']} {obj['id']}"
            r = http.get(f"{base}/api/saved_objects/{obj['type']}/{obj['id']}")
            if r.status_code == 200 and same_object(obj, r.json()):
                self.say(f"  {what}: unchanged")
            elif r.status_code in (200, 404):
                todo.append((obj, "updated" if r.status_code == 200 else "created"))
            else:
                r.raise_for_status()
        return todo

    def _kibana_import(self, http: Any, base: str, todo: list[tuple[dict[str, Any], str]]) -> None:
        files = {"file": ("wafpipe-imperva-waf.ndjson", kb.ndjson([o for o, _ in todo]), "application/ndjson")}
        r = http.post(f"{base}/api/saved_objects/_import", params={"overwrite": "true"}, files=files)
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code != 200:
            self.failures += 1
            self.say(f"  import FAILED: HTTP {r.status_code}: {body.get('message', r.text[:300])}")
            return
        errors = {(e.get("type"), e.get("id")): e.get("error") for e in body.get("errors") or []}
        for obj, verb in todo:
            err = errors.get((obj["type"], obj["id"]))
            if err:
                self.failures += 1
                self.say(f"  {obj['type']} {obj['id']}: FAILED: {orjson.dumps(err).decode()}")
            elif not body.get("success", False):
                self.failures += 1
                self.say(f"  {obj['type']} {obj['id']}: not imported (the import as a whole failed)")
            else:
                self.say(f"  {obj['type']} {obj['id']}: {verb}")


def same_object(ours: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Kibana keeps what we sent and may add to it: ours must be a subset of what is stored."""
    refs = {(r["name"], r["type"], r["id"]) for r in ours.get("references", [])}
    stored_refs = {(r.get("name"), r.get("type"), r.get("id")) for r in stored.get("references", [])}
    return refs == stored_refs and _subset(ours["attributes"], stored.get("attributes", {}))


def _subset(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and all(k in b and _subset(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_subset(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "[{" and a != b:
        try:
            return _subset(orjson.loads(a), orjson.loads(b))
        except orjson.JSONDecodeError:
            return False
    return bool(a == b)


def run_setup(config: Config, *, dry_run: bool, out: TextIO, rules: RuleBundle | None = None) -> int:
    """Install assets for every elasticsearch/opensearch sink (and Kibana), and ``rules`` when given
    (the command line converts them: :mod:`wafpipe.detect.export`); returns the exit code."""
    sinks = [s for s in config.sinks if s.type in ("elasticsearch", "opensearch")]
    if not sinks:
        out.write("no sink of type elasticsearch or opensearch in the configuration: nothing to install "
                  "(add a [[sinks]] entry with type = \"elasticsearch\" and hosts = [...])\n")
        return 2
    setup = Setup(out, dry_run)
    if dry_run:
        setup.say("dry run: these requests would be sent; nothing is sent\n")
    try:
        for entry in sinks:
            base = entry.hosts[0] if entry.hosts else "Elastic Cloud"
            client = None if dry_run else make_client(entry)
            if client is not None:
                setup.secrets.extend(client.secrets)
            base = client.display.split(", ")[0] if client else redact(base, [])
            try:
                if entry.type == "elasticsearch":
                    steps, target = elasticsearch_steps(entry), ("elasticsearch", True)  # type: ignore[arg-type]
                else:
                    steps = opensearch_steps(entry)  # type: ignore[arg-type]
                    target = ("opensearch", bool(entry.use_data_stream))  # type: ignore[union-attr]
                setup.cluster(f"{entry.type} sink {entry.name!r}", base, client, steps, target)
                if rules is not None and entry.type == "opensearch":
                    install_monitors(setup, client, base, rules)
            finally:
                if client is not None:
                    client.close()
        if config.kibana is None:
            setup.say("Kibana objects skipped: the configuration has no [kibana] section "
                      "(add one with url = \"https://…:5601\" to install the data view, dashboards and "
                      "detection rules)")
        elif not any(s.type == "elasticsearch" for s in sinks):
            setup.say("Kibana objects skipped: they are for Elasticsearch; OpenSearch Dashboards is not supported")
        else:
            setup.kibana(config.kibana, rules)
    except ConfigError as exc:
        out.write(f"configuration error: {exc}\n")
        return 2
    if setup.failures:
        setup.say(f"{setup.failures} step(s) failed")
        return 1
    if not dry_run:
        setup.say("done: running setup again changes nothing")
    return 0
