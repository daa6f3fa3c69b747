"""``wafpipe elastic``: Elasticsearch / OpenSearch / Kibana assets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wafpipe.cli.common import EXIT_USAGE, ConfigOpt, error, load

if TYPE_CHECKING:
    from wafpipe.sinks.elasticsearch.rules import RuleBundle

elastic_app = typer.Typer(help="Elasticsearch / OpenSearch / Kibana assets.")


@elastic_app.command("setup")
def elastic_setup(
    config: ConfigOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print every request, send none")] = False,
    no_rules: Annotated[bool, typer.Option(
        "--no-rules", help="leave out the detection rules (Kibana's detection engine, OpenSearch monitors)")] = False,
) -> None:
    """Install templates, ILM/ISM policies and Kibana objects for every cluster sink, and the
    detection rules wafpipe runs as Kibana detection rules and OpenSearch alerting monitors
    (idempotent: a second run changes nothing)."""
    import sys

    from wafpipe.sinks.elasticsearch.setup import run_setup

    cfg = load(config)
    types = {s.type for s in cfg.sinks}
    targets = "opensearch" in types or ("elasticsearch" in types and cfg.kibana is not None)
    rules = cluster_rules(cfg) if targets and not no_rules else None
    raise typer.Exit(run_setup(cfg, dry_run=dry_run, out=sys.stdout, rules=rules))


def cluster_rules(cfg: Any) -> RuleBundle:
    """The detections the collector would load (shipped rules and ``[detect] rules_dir``, by the
    collector's own loading), converted for Kibana and OpenSearch. A rule wafpipe itself refuses
    stops the command as it would stop the collector (exit 2); missing pySigma backends do not:
    setup says so and installs the rest."""
    from wafpipe.collector.detections import load_detections
    from wafpipe.detect.export import BackendsMissing, export
    from wafpipe.errors import ConfigError
    from wafpipe.sinks.elasticsearch.assets.templates import INDEX_PATTERN
    from wafpipe.sinks.elasticsearch.rules import RuleBundle

    try:
        detections = load_detections(cfg)
    except ConfigError as exc:
        raise error(f"configuration error: {exc} (or leave the rules out with --no-rules)", EXIT_USAGE) from None
    texts = []
    for source in sorted({d.source for d in detections}):
        try:
            texts.append((Path(source).read_text(encoding="utf-8"), source))
        except OSError as exc:  # gone since it was loaded a moment ago
            raise error(f"error: {source}: cannot be read: {exc}", EXIT_USAGE) from None
    try:
        converted = export(detections, texts, index_pattern=INDEX_PATTERN)
    except BackendsMissing as exc:
        return RuleBundle(unavailable=str(exc))

    def skipped(target: str) -> list[tuple[str, str, str]]:
        return [(s.rule_id, s.title, s.reason) for s in converted.skipped if s.target == target]

    return RuleBundle(kibana=converted.kibana, monitors=converted.monitors,
                      skipped_kibana=skipped("kibana"), skipped_opensearch=skipped("opensearch"))


def register(app: typer.Typer) -> None:
    app.add_typer(elastic_app, name="elastic")
