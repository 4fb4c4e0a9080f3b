"""The training/validation input pipeline: files -> batches of pixels for Keras.

Design (measured in ``bench/bench_pipeline.py``): a Python *batch producer*
hands per-image work -- decode, resize, augment -- to a thread pool and yields
whole uint8 batches; ``tf.data.Dataset.from_generator`` wraps it, a ``map``
casts to float32 and one-hot encodes, and ``prefetch`` overlaps it with the
model step.  Pillow's decoder and OpenCV release the GIL, so the threads
really run in parallel, and a bounded window of batches in flight keeps
memory bounded whatever the number of images.  Decoded, resized images go to
an optional :class:`~core.data.decoded_cache.DecodedCache` so later epochs skip
decoding; augmentation runs after the cache, fresh every epoch.

Reproducibility: the training order of epoch ``e`` and the augmentation of
image ``i`` in it are derived from ``(seed, e, i)``, never from which thread got
there first, so two runs with the same seed see the same batches.

A file that fails to decode (deleted, truncated) is skipped -- its batch is one
image smaller -- reported once as a warning naming the file, and not tried
again.  The run goes on.  Every epoch still yields exactly
``steps_for(len(records), batch_size)`` batches (a batch whose every image
failed is replaced by a repeat of a neighbouring one), so Keras sees a fixed
epoch length.

TensorFlow is imported only inside :func:`make_dataset`; the producer itself
(:class:`BatchSource`) is plain numpy and usable without it.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from core.data.augment import Augmenter, build_augmenter, sample_seed
from core.config import AugmentConfig
from core.data.decoded_cache import CacheStats, DecodedCache
from core.errors import DataError
from core.events import FileSkipped, emit
from core.data.imageio import ImageError, load_rgb

log = logging.getLogger(__name__)

_REPORTED_LOCK = threading.Lock()  # guards the ``reported`` sets datasets may share

__all__ = ["make_dataset", "steps_for", "BatchSource", "DecodedCache", "CacheStats",
           "default_workers"]


def steps_for(n_records: int, batch_size: int) -> int:
    """Batches in one pass over ``n_records`` (the last one may be smaller)."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return max(0, math.ceil(n_records / batch_size))


def default_workers() -> int:
    """Decode threads: one per CPU core (decoding is CPU-bound and releases the GIL)."""
    return max(2, min(32, os.cpu_count() or 2))


class BatchSource:
    """Produces ``(uint8 images [B,S,S,3], int32 labels [B])`` batches, epoch by epoch.

    Calling the object starts the next epoch and returns its batch iterator,
    which is what ``tf.data.Dataset.from_generator`` needs: Keras iterates the
    dataset afresh each epoch, and every fresh iteration is a new epoch here
    (new shuffle, new augmentation).
    """

    def __init__(self, records: Sequence[Any], num_classes: int, image_size: int,
                 batch_size: int, training: bool, augment: Optional[AugmentConfig] = None,
                 cache: Optional[DecodedCache] = None, seed: int = 0, listener=None,
                 workers: Optional[int] = None, repeat: bool = False,
                 first_epoch: int = 0, reported: Optional[set] = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {batch_size}")
        if image_size < 8:
            raise ValueError(f"image size must be at least 8, got {image_size}")
        self.paths = [os.fspath(r.path) for r in records]
        self.labels = np.array([int(r.label) for r in records], dtype=np.int32)
        if not self.paths:
            raise DataError("no images to feed the model; check the data folder and the split")
        bad = np.flatnonzero((self.labels < 0) | (self.labels >= num_classes))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{self.paths[i]}: label {int(self.labels[i])} is outside the "
                            f"{num_classes} classes; rescan the data folder")
        self.num_classes = int(num_classes)
        self.image_size = int(image_size)
        self.batch_size = int(batch_size)
        self.training = bool(training)
        self.cache = cache
        self.seed = int(seed)
        self.listener = listener
        self.workers = int(workers) if workers else default_workers()
        self.repeat = bool(repeat)
        # Built now so a bad augmentation setting fails before training starts.
        self._augmenter: Optional[Augmenter] = (
            build_augmenter(augment, self.image_size) if self.training else None)
        self._aug_seed = int(augment.seed) if augment is not None else 0
        self._local = threading.local()
        self._epochs = itertools.count(int(first_epoch))
        self._lock = threading.Lock()
        self._bad: set[int] = set()
        self.skipped: list[tuple[str, str]] = []  # (path, reason), one entry per file
        # Paths already named to the user; one training run shares this set between
        # its datasets (features, training, validation) so a file is named once.
        self._reported: set = reported if reported is not None else set()

    # -- per epoch ------------------------------------------------------------
    def __len__(self) -> int:
        return steps_for(len(self.paths), self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        """Record indices of ``epoch``: seeded shuffle for training, file order otherwise."""
        n = len(self.paths)
        if not self.training:
            return np.arange(n)
        return np.random.default_rng(sample_seed(self.seed, epoch, 0x5EED)).permutation(n)

    def __call__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self.repeat:
            return self._forever()
        return self._epoch(next(self._epochs))

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self()

    def _forever(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            yield from self._epoch(next(self._epochs))

    def _epoch(self, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = self.order(epoch)
        chunks = (order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size))
        # Enough batches in flight to keep every worker busy, and no more:
        # this window is what bounds memory.
        ahead = max(2, math.ceil(2 * self.workers / self.batch_size) + 1)
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="fts-decode")
        pending: deque[tuple[np.ndarray, np.ndarray, list[Future]]] = deque()
        s = self.image_size

        def submit_next() -> None:
            chunk = next(chunks, None)
            if chunk is not None:
                # Workers write straight into the batch: no serial np.stack copy here.
                out = np.empty((len(chunk), s, s, 3), dtype=np.uint8)
                pending.append((chunk, out, [pool.submit(self._fill, out, j, int(i), epoch)
                                             for j, i in enumerate(chunk)]))

        try:
            for _ in range(ahead):
                submit_next()
            owed = 0  # batches whose every image failed, still to be yielded
            last = None
            while pending:
                chunk, out, futures = pending.popleft()
                submit_next()
                ok = np.ones(len(chunk), dtype=bool)
                for j, (i, fut) in enumerate(zip(chunk, futures)):
                    problem = fut.result()
                    if problem is not None:
                        self._report(int(i), problem)
                        ok[j] = False
                if not ok.any():
                    owed += 1
                    continue
                if ok.all():
                    last = (out, self.labels[chunk])
                else:
                    last = (out[ok], self.labels[chunk[ok]])
                for _ in range(1 + owed):
                    yield last
                owed = 0
            if owed:
                if last is None:
                    raise DataError(f"none of the {len(order)} images could be read (first: "
                                    f"{self.skipped[0][0] if self.skipped else '?'}); "
                                    "check the data folder")
                for _ in range(owed):
                    yield last
        finally:
            for _, _, futures in pending:
                for fut in futures:
                    fut.cancel()
            pool.shutdown(wait=False, cancel_futures=True)

    # -- per image --------------------------------------------------------------
    def _decode(self, path: str) -> np.ndarray:
        size = self.image_size
        if self.cache is None:
            return load_rgb(path, size)
        return self.cache.get_or_load(path, size, lambda: load_rgb(path, size))

    def _thread_augmenter(self) -> Optional[Augmenter]:
        if self._augmenter is None:
            return None
        aug = getattr(self._local, "augmenter", None)
        if aug is None:  # albumentations objects hold random state: one per thread
            aug = self._local.augmenter = self._augmenter.copy()
        return aug

    def _load(self, i: int, epoch: int) -> tuple[Optional[np.ndarray], str]:
        if i in self._bad:  # already reported; don't pay for a second failing decode
            return None, ""
        path = self.paths[i]
        try:
            img = self._decode(path)
        except ImageError as exc:
            return None, exc.reason
        except OSError as exc:  # defensive: imageio maps these, but never stop a run for one file
            return None, str(exc)
        aug = self._thread_augmenter()
        if aug is not None:
            img = aug(img, seed=sample_seed(self._aug_seed, self.seed, epoch, i))
        return img, ""

    def _fill(self, out: np.ndarray, j: int, i: int, epoch: int) -> Optional[str]:
        """Put record ``i`` into ``out[j]``; return why not, or None when it worked."""
        img, problem = self._load(i, epoch)
        if img is None:
            return problem
        out[j] = img
        return None

    def _report(self, i: int, reason: str) -> None:
        with self._lock:
            if i in self._bad:
                return
            self._bad.add(i)
            self.skipped.append((self.paths[i], reason))
        with _REPORTED_LOCK:
            if self.paths[i] in self._reported:
                return
            self._reported.add(self.paths[i])
        event = FileSkipped(self.paths[i], reason, "training")
        if self.listener is None:  # nobody to tell: the log says it (not both: it was twice)
            log.warning(event.message)
        emit(self.listener, event)


def make_dataset(records: Sequence[Any], num_classes: int, image_size: int, batch_size: int,
                 training: bool, augment: Optional[AugmentConfig] = None,
                 cache: Optional[DecodedCache] = None, seed: int = 0, listener=None,
                 workers: Optional[int] = None, repeat: bool = False, first_epoch: int = 0,
                 reported: Optional[set] = None):
    """A ``tf.data.Dataset`` of ``(float32 images [B,S,S,3] in 0..255, one-hot float32 [B,C])``.

    ``records`` need ``.path`` and ``.label`` (``core.data.dataset_report.ImageRecord``).
    Training data are shuffled per epoch and augmented; validation data
    (``training=False``) keep file order and are never augmented.  Pixel values
    are raw 0..255: each backbone's own preprocessing happens inside the model.
    ``repeat=True`` gives an endless dataset (pass ``steps_per_epoch`` to fit);
    ``first_epoch`` keeps shuffles reproducible when a run resumes mid-way.
    ``reported``: a set of paths shared by several datasets of one job, so a
    file that fails in each of them is still named to the user only once.
    The producer is reachable as ``dataset.batch_source`` (skipped files, sizes).
    """
    import tensorflow as tf

    source = BatchSource(records, num_classes, image_size, batch_size, training, augment,
                         cache, seed, listener, workers, repeat, first_epoch, reported)
    s = source.image_size
    ds = tf.data.Dataset.from_generator(
        source,
        output_signature=(tf.TensorSpec(shape=(None, s, s, 3), dtype=tf.uint8),
                          tf.TensorSpec(shape=(None,), dtype=tf.int32)))

    def to_model(images, labels):
        return tf.cast(images, tf.float32), tf.one_hot(labels, num_classes, dtype=tf.float32)

    if not repeat:
        # Every epoch yields exactly len(source) batches (see BatchSource), so Keras
        # knows the epoch length up front instead of discovering it by running out.
        ds = ds.apply(tf.data.experimental.assert_cardinality(len(source)))
    # One cast per whole batch: a parallel map buys nothing here (measured in the bench).
    ds = ds.map(to_model)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    try:
        ds.batch_source = source
    except Exception:  # pragma: no cover - a TF version that forbids attributes
        pass
    return ds
