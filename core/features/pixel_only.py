"""Near-copy search material from pixels alone, for when the backbone's features mean nothing.

A backbone with random weights ("none") says nothing about what a picture
shows, its features are never stored, and building it just to find copies
costs seconds before the first image.  The near-duplicate check does not need
it: re-encoded, resized, brightened, flipped and slightly cropped copies agree
in their 32x32 grey signatures (:mod:`core.features.pixels`), which take one
small decode per image.  :func:`pixel_embeddings` returns
:class:`~core.features.store.Embeddings` whose vectors are those signatures,
so :func:`core.features.near_duplicates.find_near_duplicates` runs unchanged;
what it cannot find without features is a copy the pixels no longer show
(a heavy crop or a different shot of the same scene).
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from core.events import CancelToken, FileSkipped, Listener, Progress, emit
from core.features.extract import decoded_batches, signature
from core.features.shards import SIGNATURE_SIDE
from core.features.store import Embeddings, FeatureStore

DECODE_SIDE = 64  # pixels decoded per side before the 32x32 signature is taken


def pixel_embeddings(paths: Sequence[str], store: Optional[FeatureStore] = None, *,
                     listener: Optional[Listener] = None,
                     cancel: Optional[CancelToken] = None) -> Embeddings:
    """Stamps and signatures of ``paths`` (vectors: the signatures as float16 rows).

    File stamps come from the store's hash index (unchanged files are not read
    again); unreadable files are reported once as FileSkipped and left out.
    """
    store = store or FeatureStore()
    cancel = cancel or CancelToken()
    paths = [os.path.abspath(os.fspath(p)) for p in paths]
    stamped = store.stamp(paths, listener, cancel)
    ok = [(p, s) for p, (s, _) in zip(paths, stamped) if s is not None]
    skipped = [(p, why) for p, (s, why) in zip(paths, stamped) if s is None]
    sigs = np.zeros((len(ok), SIGNATURE_SIDE, SIGNATURE_SIDE), dtype=np.uint8)
    good = np.zeros(len(ok), dtype=bool)
    total = len(ok)
    for batch in decoded_batches([p for p, _ in ok], DECODE_SIDE, 64, cancel):
        for i, rgb, reason in batch:
            if rgb is None:
                skipped.append((ok[i][0], reason))
            else:
                sigs[i], good[i] = signature(rgb), True
        emit(listener, Progress(batch[-1][0] + 1, total, "reading pixels"))
    for path, why in skipped:
        emit(listener, FileSkipped(path, why, "features"))
    keep = np.flatnonzero(good)
    vectors = sigs[keep].reshape(len(keep), SIGNATURE_SIDE * SIGNATURE_SIDE).astype(np.float16)
    return Embeddings([ok[i][0] for i in keep], [ok[i][1] for i in keep], vectors,
                      sigs[keep], skipped)
