"""Line decoders. Each turns one event line into a :class:`RawRecord` and nothing more."""

from wafpipe.decode.cef import decode_cef, parse_cef
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
    "parse_cef",
]
