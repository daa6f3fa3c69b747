"""One Imperva file → ECS events and problems: container → decode → ecs, with the bad-input rules
of DESIGN §7. Used by ``wafpipe parse``, by the collector's decode workers and by dead-letter
replay alike: there is one way a line becomes an event.

Nothing raises for bad data: every fault becomes a :class:`Problem` (what, where, how to fix, raw
bytes for the dead-letter record) and the good lines around it still come out.

Verdicts on the whole file (DESIGN §7), each one Problem rather than one per line:

* ``not_imperva`` — the file is not an Imperva log at all (an nginx access log, a binary): none of
  its first lines is CEF, LEEF or W3C, or none of its first :data:`PROBE_LINES` lines decodes, and
  the header (if any) declares no format. ``fatal_to_file``: the collector quarantines it.
* ``empty`` — the file holds nothing: 0 bytes, only the ``|==|`` separator, or only blank lines. (A
  header without events is a legitimate delivery, not a problem.)
* a container fault (corrupt compression, bad ciphertext, missing key) says how many events were
  decoded before it ("no events were decoded before the fault" when none were).

Replay. A ``decode`` or ``cut_line`` problem carries ``context``: what the reader knew about the
file when it met the line (identity, name, path, format, header, container facts, the W3C columns
and directives, ingest time, and the long-line hash). :func:`decode_known_lines` decodes given lines
of such a known file through the same code as :meth:`FileReader.items`, so a dead-lettered line
replayed after a fix gets exactly the id and document ingest would have given it.

Named parts: :mod:`.recognise` (what a non-Imperva file looks like), :mod:`.native` (a whole file
through the native core: what ``parse`` and the collector use), :mod:`.file` (the file's verdicts,
and the version 1 Python reader: the oracle the core is tested against until it is deleted),
:mod:`.lines` (version 1's per-line rules, still used by dead-letter replay).
"""

from wafpipe.decode.reader.file import FileReader
from wafpipe.decode.reader.lines import decode_known_lines
from wafpipe.decode.reader.native import NativeFileReader, read_path
from wafpipe.decode.reader.recognise import PROBE_LINES, looks_like
from wafpipe.model import Problem

__all__ = ["PROBE_LINES", "FileReader", "NativeFileReader", "Problem", "decode_known_lines", "looks_like", "read_path"]
