"""The decode stage: one Imperva file → ECS Batches and problems.

Python reads the container (header, outer gzip, decryption: :mod:`wafpipe.imperva`); the native
core (``wafpipe._native``, Rust, in ``native/``) does every line: inflate, MD5, split, detect the
format, decode CEF/LEEF/W3C, map to ECS from the field table, give each event its id, and build the
Arrow columns and documents. :mod:`.reader` joins the two and adds the verdicts on the whole file;
:mod:`.batch` turns events known one by one (tools, replay) into a Batch.
"""
