"""Redaction: card numbers and secrets masked or hashed in every Batch before any sink sees it
(configuration in :mod:`.config`, the rules on one string in :mod:`.text`, a whole Batch in
:mod:`.batch`, a quarantined file in :mod:`.files`)."""

from wafpipe.enrich.redaction.batch import Redactor
from wafpipe.enrich.redaction.config import RedactionConfig

__all__ = ["RedactionConfig", "Redactor"]
