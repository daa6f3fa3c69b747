"""The Python decode core: one Imperva file body → ECS events and problems.

``reader`` drives the rest: the line decoders (``cef``, ``leef``, ``w3c``, chosen by ``detect``)
turn each line into a :class:`~wafpipe.decode.record.RawRecord`, ``mapping`` turns a record into an
ECS document with the field table of :mod:`wafpipe.fields`, and ``ids`` gives each event its
deterministic id. The native core replaces this package behind the same interface.
"""

from wafpipe.decode.cef import decode_cef
from wafpipe.decode.detect import LineDecoder, detect_format, make_decoder
from wafpipe.decode.leef import decode_leef
from wafpipe.decode.record import RawRecord
from wafpipe.decode.w3c import W3CDecoder

__all__ = [
    "LineDecoder",
    "RawRecord",
    "W3CDecoder",
    "decode_cef",
    "decode_leef",
    "detect_format",
    "make_decoder",
]
