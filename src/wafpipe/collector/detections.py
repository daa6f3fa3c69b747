"""The detections a collector runs (:mod:`wafpipe.detect`): the shipped Sigma rules and those of
``[detect] rules_dir``, loaded once at start. A rule that cannot run is a configuration error, named
with its file, title and construct, before any file is read. The decode workers run the single-event
rules on every Batch (:mod:`wafpipe.detect.batch`); the findings become alerts in the state."""

from __future__ import annotations

from wafpipe.config.root import Config
from wafpipe.detect import SHIPPED_RULES, Detection, UnsupportedRule, load_paths
from wafpipe.errors import ConfigError


def load_detections(config: Config) -> tuple[Detection, ...]:
    """Every configured detection, in load order."""
    settings = config.detect
    paths = [SHIPPED_RULES] if settings.shipped_rules else []
    if settings.rules_dir is not None:
        if not settings.rules_dir.is_dir():
            raise ConfigError(f"[detect] rules_dir: no directory at {settings.rules_dir}",
                              hint="create it and put Sigma rule files (.yml) in it, or remove the setting")  # fmt: skip
        paths.append(settings.rules_dir)
    try:
        return tuple(load_paths(paths))
    except UnsupportedRule as exc:
        raise ConfigError(f"[detect]: {exc}", hint=exc.hint or "fix or remove that rule file") from None
