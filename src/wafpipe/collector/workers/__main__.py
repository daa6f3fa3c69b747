"""A decode worker process's entry point: ``python -m wafpipe.collector.workers FD BATCH_SIZE
BATCH_TIMEOUT_S`` (started by :class:`~wafpipe.collector.workers.process.WorkerProcess`)."""

import sys

from wafpipe.collector.workers.process import serve

serve(sys.argv[1:])
