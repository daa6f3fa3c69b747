"""One Imperva file → ECS events and problems through the native core, with the bad-input rules
of DESIGN §7. Used by ``wafpipe parse``, by the collector's decode workers and by dead-letter
replay alike: there is one way a line becomes an event.

Nothing raises for bad data: every fault becomes a :class:`Problem` (what, where, how to fix, raw
bytes for the dead-letter record) and the good lines around it still come out.

Verdicts on the whole file (DESIGN §7), each one Problem rather than one per line:

* ``not_imperva`` — the file is not an Imperva log at all (an nginx access log, a binary): none of
  its first lines is CEF, LEEF or W3C, or none of its first 64 lines decodes, and the header (if
  any) declares no format. ``fatal_to_file``: the collector quarantines it.
* ``empty`` — the file holds nothing: 0 bytes, only the ``|==|`` separator, or only blank lines. (A
  header without events is a legitimate delivery, not a problem.)
* a container fault (corrupt compression, bad ciphertext, missing key) says how many events were
  decoded before it ("no events were decoded before the fault" when none were).

Replay. A ``decode`` or ``cut_line`` problem carries ``context``: what the reader knew about the
file when it met the line (identity, name, path, format, header, container facts, the W3C columns
and directives, ingest time, and the long-line hash). :func:`decode_known_line` decodes a recorded
line of such a known file through the same core, so a dead-lettered line replayed after a fix gets
exactly the id and document ingest would have given it.

Named parts: :mod:`.file` (a whole file: the container in Python, the lines in the core, the file's
verdicts), :mod:`.identity` (a file's identity before it is read, for resuming), :mod:`.replay`
(one recorded line again), :mod:`.recognise` (what a non-Imperva file looks like).
"""

from wafpipe.decode.reader.file import FileReader, read_path
from wafpipe.decode.reader.identity import file_identity
from wafpipe.decode.reader.recognise import looks_like
from wafpipe.decode.reader.replay import decode_known_line
from wafpipe.model import Problem

__all__ = ["FileReader", "Problem", "decode_known_line", "file_identity", "looks_like", "read_path"]
