"""Decode work, in-process or in worker processes (DESIGN §1: decoding is the CPU-heavy part).

A task is one file from a resume ordinal; its result is a stream of :class:`~wafpipe.model.Batch`
es in line order, the last one final with the file's verdict. A Batch crosses to the main process
as Arrow IPC (:mod:`.transport`), never pickled, and holds the JSON documents only when a sink needs
them (:attr:`Task.documents`): the main process then reads each Batch without doing anything per
event.

Why one socket per worker, and not a shared task queue and result queue:

* **A dead worker is found at once and costs only its own file.** The parent waits on every
  worker's socket *and* its process sentinel (:func:`multiprocessing.connection.wait`), so a worker
  killed by the OOM killer or a ``kill -9`` is seen the moment it dies. The parent knows which task
  that worker had, reports it (:class:`WorkerDied`) so the collector retries the file from its last
  acknowledged ordinal, and starts a replacement. With a shared ``multiprocessing.Queue`` a worker
  killed while holding the queue's lock, or half-way through writing a message, wedges or corrupts
  the queue for every worker: ``run --once`` then hangs for ever.
* **Back-pressure without a bound to tune.** A worker sends a Batch and blocks until the parent
  has taken it (:mod:`wafpipe.collector.transport`), so at most one decoded Batch per worker waits
  for the sinks, and the parent stops
  reading (the collector holds its Batch) when a sink's spool is full.
* **Tasks go to idle workers only**, so a big file never holds up a small one queued behind it.
* **A worker starts when a task needs it**, up to ``workers``, and then stays: a run with one file
  never pays for an idle second process (~100 MiB resident, the libraries counted again).

Shutdown and signals (DESIGN §4 "Ctrl-C stops every process cleanly"): workers ignore SIGINT (a
Ctrl-C reaches the whole process group; the collector decides, and a worker's
``KeyboardInterrupt`` traceback is noise). They stop when the parent sends ``None`` or closes its end
of the socket (a busy worker's next send fails, and it exits quietly). Workers die with the main
process: each is its child and asks the kernel (``PR_SET_PDEATHSIG``) to be killed when it exits; a
worker blocked on its socket also sees EOF.

* :mod:`.pool` — :class:`DecodePool`: the workers, their tasks, their Batches and their deaths;
* :mod:`.process` — one worker process: how it is started, and the loop it runs
  (``python -m wafpipe.collector.workers``, :mod:`.__main__`).
"""

from wafpipe.collector.workers.pool import DecodePool, WorkerDied

__all__ = ["DecodePool", "WorkerDied"]
