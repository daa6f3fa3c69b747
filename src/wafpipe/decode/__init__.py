"""Line decoders. Each turns one event line into a :class:`RawRecord` and nothing more."""

from wafpipe.decode.cef import decode_cef, parse_cef
from wafpipe.decode.cef_types import CefTime, CefValueError, full_name, parse_cef_timestamp, to_mac
from wafpipe.decode.detect import LineDecoder, detect_format, make_decoder
from wafpipe.decode.leef import decode_leef
from wafpipe.decode.record import RawRecord
from wafpipe.decode.stream import LineSplitter, StreamDecoder, StreamFailure, decode_bytes
from wafpipe.decode.w3c import W3CDecoder

__all__ = [
    "CefTime",
    "CefValueError",
    "LineDecoder",
    "LineSplitter",
    "RawRecord",
    "StreamDecoder",
    "StreamFailure",
    "W3CDecoder",
    "decode_bytes",
    "decode_cef",
    "decode_leef",
    "detect_format",
    "full_name",
    "make_decoder",
    "parse_cef",
    "parse_cef_timestamp",
    "to_mac",
]
