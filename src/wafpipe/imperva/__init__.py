"""Imperva's file container: header lines, the ``|==|`` separator, compression, encryption, names.

:mod:`.container` reads one file into body lines and a verdict (identity, checksum, partial);
:mod:`.compression` inflates the body's streams; :mod:`.crypto` finds private keys by
``publicKeyId`` and decrypts. Nothing here knows about event formats.
"""
