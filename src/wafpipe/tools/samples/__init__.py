"""The parts of ``wafpipe generate``: events (:mod:`.events`, :mod:`.data`), their rendering in each
format (:mod:`.writers`), the file container (:mod:`.container`) and broken input (:mod:`.bad`)."""
