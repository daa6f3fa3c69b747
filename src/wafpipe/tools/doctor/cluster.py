"""Each cluster sink (Elasticsearch, OpenSearch): unreachable, unauthorised, or without wafpipe's
index template."""

from __future__ import annotations

from wafpipe.config.root import Config
from wafpipe.errors import WafpipeError
from wafpipe.tools.checks import Check
from wafpipe.tools.doctor.causes import classify


def cluster_sinks(config: Config) -> list[Check]:
    from wafpipe.sinks.elasticsearch.assets.templates import TEMPLATE
    from wafpipe.sinks.elasticsearch.client import make_client

    out = []
    for entry in config.sinks:
        if entry.type not in ("elasticsearch", "opensearch"):
            continue
        area = f"sink {entry.type}"
        try:
            client = make_client(entry)
        except WafpipeError as exc:
            out.append(Check(area, False, str(exc), exc.hint))
            continue
        try:
            status, _ = client.request("GET", "/")
            if status in (401, 403):
                out.append(Check(area, False, f"the cluster answered {status}: unauthorised",
                                     "check the user/password or API key the sink names (its *_env variables)"))  # fmt: skip
                continue
            found, _ = client.request("GET", f"/_index_template/{TEMPLATE}")
            if found == 404:
                out.append(Check(area, False, f"no index template {TEMPLATE}: documents would get guessed mappings",
                                     "wafpipe elastic setup -c <config>"))  # fmt: skip
            else:
                out.append(Check(area, True, f"reachable (HTTP {status}), index template {TEMPLATE} installed"))
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is the finding
            text = client.redact(str(exc))
            out.append(Check(area, False, f"unreachable: {text[:300]}", classify(text)[1]))
        finally:
            client.close()
    return out
