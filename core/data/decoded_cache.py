"""A bounded in-memory store of decoded, resized images shared by training epochs.

Decoding a JPEG costs far more than augmenting the small image it becomes, so
keeping the resized uint8 pixels in RAM makes every epoch after the first
decode-free.  The store never grows past its budget: once full it simply stops
adding (no eviction churn -- with a shuffled pass over the data every epoch,
any eviction policy would throw away exactly what is needed next), so memory
stays bounded whatever the number of images and the images that did fit keep
being hits.  Worker threads share one instance, hence the lock.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable, Hashable, Optional

import numpy as np


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    bytes: int
    items: int
    budget_bytes: int
    rejected: int  # images not stored because the budget was full

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def describe(self) -> str:
        return (f"image cache: {self.items} images, {self.bytes / 2**20:.0f} of "
                f"{self.budget_bytes / 2**20:.0f} MB, {self.hit_rate:.0%} hits")


class DecodedCache:
    """Thread-safe ``(path, size) -> uint8 image`` store limited to ``budget_mb``.

    Stored arrays are made read-only, so a caller that tries to modify one in
    place fails loudly instead of corrupting later epochs.
    """

    def __init__(self, budget_mb: int) -> None:
        if budget_mb < 0:
            raise ValueError(f"cache budget must be 0 MB or more, got {budget_mb}")
        self.budget_bytes = int(budget_mb) * 2**20
        self._items: dict[tuple, np.ndarray] = {}
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._rejected = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(path: str | os.PathLike, size: Hashable) -> tuple:
        return (os.fspath(path), size)

    def get(self, path: str | os.PathLike, size: Hashable) -> Optional[np.ndarray]:
        """The stored image, or None (counted as a miss)."""
        k = self.key(path, size)
        with self._lock:
            img = self._items.get(k)
            if img is None:
                self._misses += 1
            else:
                self._hits += 1
            return img

    def put(self, path: str | os.PathLike, size: Hashable, image: np.ndarray) -> bool:
        """Store ``image`` if it fits in the budget; returns whether it was stored."""
        k = self.key(path, size)
        with self._lock:
            if k in self._items:
                return True
            if self._bytes + image.nbytes > self.budget_bytes:
                self._rejected += 1
                return False
            image.setflags(write=False)
            self._items[k] = image
            self._bytes += image.nbytes
            return True

    def get_or_load(self, path: str | os.PathLike, size: Hashable,
                    load: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached image, or ``load()``'s result (stored when it fits).

        ``load`` runs outside the lock, so threads decode in parallel.
        """
        img = self.get(path, size)
        if img is None:
            img = load()
            self.put(path, size, img)
        return img

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, self._bytes, len(self._items),
                              self.budget_bytes, self._rejected)

    @property
    def hits(self) -> int:
        return self.stats().hits

    @property
    def misses(self) -> int:
        return self.stats().misses

    @property
    def nbytes(self) -> int:
        return self.stats().bytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: tuple) -> bool:
        with self._lock:
            return key in self._items
