"""Group concurrent requests into one model call, made in one worker thread.

A model answers a batch of 8 images in far less than 8 times what one image
costs, and most runtimes (a TFLite interpreter above all) must not be called
from several threads at once.  So every request puts its images on a queue; one
thread takes what is waiting, waits a few milliseconds more for requests that
arrive together (up to ``max_batch`` images), runs the model once and hands
each request its rows (of every array when ``predict`` returns a tuple, such
as ``(probabilities, unknown scores or None)``).  A model error fails the
requests of that batch only.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


@dataclass
class _Job:
    images: np.ndarray
    future: Future


class Batcher:
    """``submit(images) -> Future`` of the probabilities; ``close()`` stops the worker."""

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray], max_batch: int = 32,
                 wait_ms: float = 2.0) -> None:
        self._predict = predict
        self.max_batch = max(1, int(max_batch))
        self.wait = max(0.0, wait_ms) / 1000.0
        self._queue: "queue.Queue[Optional[_Job]]" = queue.Queue()
        self._closed = False
        self._carry: Optional[_Job] = None
        self.batches = 0  # model calls made (tests and the bench read it)
        self._thread = threading.Thread(target=self._loop, name="serve-model", daemon=True)
        self._thread.start()

    def submit(self, images: np.ndarray) -> Future:
        future: Future = Future()
        if self._closed:
            future.set_exception(RuntimeError("the server is shutting down"))
        else:
            self._queue.put(_Job(images, future))
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then stop the worker thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """``first`` plus what arrives within the wait, up to max_batch images; (jobs, stop)."""
        jobs, n = [first], len(first.images)
        deadline = time.monotonic() + self.wait
        while n < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    job = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if job is None:
                return jobs, True
            if n + len(job.images) > self.max_batch:
                self._carry = job  # first of the next batch: keeps arrival order
                break
            jobs.append(job)
            n += len(job.images)
        return jobs, False

    def _loop(self) -> None:
        while True:
            first, self._carry = self._carry or self._queue.get(), None
            if first is None:
                return
            jobs, stop = self._gather(first)
            self._run(jobs)
            if stop:
                return

    def _run(self, jobs: list[_Job]) -> None:
        try:
            out = self._predict(np.concatenate([j.images for j in jobs]))
            parts = out if isinstance(out, tuple) else (out,)
            parts = tuple(None if a is None else np.asarray(a) for a in parts)
        except BaseException as exc:  # one bad batch must not kill the worker
            for j in jobs:
                j.future.set_exception(exc)
            return
        finally:
            self.batches += 1
        start = 0
        for j in jobs:
            end = start + len(j.images)
            rows = tuple(None if a is None else a[start:end] for a in parts)
            j.future.set_result(rows if isinstance(out, tuple) else rows[0])
            start = end
