"""The last word on a near-duplicate candidate: do the two images agree in their fine detail?

On aligned collections (solar cells, microscopy, product shots) neighbouring
images can agree at 32x32 as well as a cropped copy does; what differs is the
fine texture and noise, which a copy keeps and a different picture does not.
Each image is decoded at :data:`FINE_SIDE` px (the app's own decoder), the
pair is aligned to a fraction of a pixel (starting from the scale and shift
:func:`core.features.pixels.align` found) and compared after fitting
brightness and contrast (:func:`fine_score`): a copy differs from its original
by re-encoding noise, two different pictures of the same kind by the picture.

Scores depend only on the two files' contents, so they are kept in a small
checksummed cache file beside the feature store (:class:`PairCache`).
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Optional

import numpy as np

from core.data.imageio import ImageError, load_rgb
from core.errors import UserError
from core.fsutil import atomic_write_bytes

FINE_SIDE = 320
_BLUR = 1.0
_EDGE = 8          # profile ends left out of the fit (cut off by a crop)
_MARGIN = 20       # border pixels left out of the comparison
_DARK, _BRIGHT = 4, 251  # clipped pixels say nothing about the picture
_MIN_PIXELS = 250
_ECC_SCALE = 0.25   # ECC runs at 80 px: 4x cheaper than 160, as precise here (measured)
_FLAT = 1.0        # an image with less contrast than this (grey levels) cannot be compared
#: A median residual this small (grey levels, at most 8 % of the contrast) is re-encoding
#: noise, even where it is large next to a low-contrast image's contrast.  Measured: copies
#: 0.3 or less, different solar cells 0.75 or more (bench/bench_audit.py).
_NOISE = 0.65
_NOISE_SHARE = 0.08
_COPY_SHARE = 0.03  # near_duplicates.FINE_SAME is 1 minus this
_MAGIC = b"FTSPAIR1"
_RECORD = struct.Struct("<32sf")


class PairCache:
    """Fine-check scores by content pair, in one checksummed file; damaged means empty."""

    def __init__(self, path: Optional[Path]) -> None:
        self.path = path
        self.scores: dict[bytes, float] = {}
        self._dirty = False
        if path is not None:
            self._load()

    @staticmethod
    def key(a: str, b: str) -> bytes:
        x, y = sorted((bytes.fromhex(a), bytes.fromhex(b)))
        return x + y

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError:
            return
        head = len(_MAGIC) + 4
        if len(data) < head + 16 or data[:len(_MAGIC)] != _MAGIC:
            return
        (n,) = struct.unpack("<I", data[len(_MAGIC):head])
        body = data[head:-16]
        if len(body) != n * _RECORD.size or hashlib.blake2b(body, digest_size=16).digest() \
                != data[-16:]:
            return  # damaged: the checks are simply done again
        for k, score in _RECORD.iter_unpack(body):
            self.scores[k] = score

    def get(self, a: str, b: str) -> Optional[float]:
        return self.scores.get(self.key(a, b))

    def put(self, a: str, b: str, score: float) -> None:
        self.scores[self.key(a, b)] = float(score)
        self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        body = b"".join(_RECORD.pack(k, v) for k, v in self.scores.items())
        data = (_MAGIC + struct.pack("<I", len(self.scores)) + body
                + hashlib.blake2b(body, digest_size=16).digest())
        try:
            atomic_write_bytes(self.path, data)
            self._dirty = False
        except (OSError, UserError):  # read-only, full
            pass  # only a cache


class FineImages:
    """Decoded grey images at FINE_SIDE, least recently used dropped beyond ``budget_mb``."""

    def __init__(self, budget_mb: int = 256) -> None:
        self.limit = max(2, budget_mb * 2**20 // (FINE_SIDE * FINE_SIDE))
        self.items: OrderedDict[str, Optional[np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()  # shared by the checking threads

    def get(self, path: str) -> Optional[np.ndarray]:
        with self._lock:
            if path in self.items:
                self.items.move_to_end(path)
                return self.items[path]
        try:
            rgb = load_rgb(path, FINE_SIDE)
            grey = (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587
                    + rgb[..., 2] * 0.114).astype(np.uint8)
        except (ImageError, OSError):
            grey = None
        with self._lock:
            self.items[path] = grey
            if len(self.items) > self.limit:
                self.items.popitem(last=False)
        return grey


def _profile_fit(src: np.ndarray, dst: np.ndarray, scale: float, offset: float
                 ) -> tuple[float, float]:
    """Refine ``dst[k] ~ src[offset + (k + .5) * scale - .5]`` for 1-D profiles, coarse to fine."""
    n = len(dst)
    target = _unit(dst[_EDGE:-_EDGE])
    for ds, do in ((0.004, 1.0), (0.001, 0.25)):
        scales = scale + ds * np.arange(-3, 4)
        offsets = offset + do * np.arange(-4, 5)
        s, o = (a.ravel() for a in np.meshgrid(scales, offsets, indexing="ij"))
        grid = np.clip(o[:, None] + (np.arange(n)[None, :] + 0.5) * s[:, None] - 0.5, 0, n - 1)
        lo = np.floor(grid).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        w = (grid - lo).astype(np.float32)
        sampled = src[lo] * (1 - w) + src[hi] * w
        best = int(np.argmax(_unit(sampled[:, _EDGE:-_EDGE]) @ target))
        scale, offset = float(s[best]), float(o[best])
    return scale, offset


def _ecc_refine(src: np.ndarray, dst: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Polish the affine map ``dst -> src`` by ECC on smaller images (profiles can be vague)."""
    import cv2

    s = _ECC_SCALE
    size = (round(FINE_SIDE * s), round(FINE_SIDE * s))
    small_src = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
    small_dst = cv2.resize(dst, size, interpolation=cv2.INTER_AREA)
    a = m[:, :2]
    shift = 0.5 * (s - 1) + 0.5 * (1 - s) * a.sum(axis=1)
    w = np.hstack([a, (s * m[:, 2] + shift)[:, None]]).astype(np.float32)
    try:
        _, w = cv2.findTransformECC(small_dst, small_src, w, cv2.MOTION_AFFINE,
                                    (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-5),
                                    None, 1)
    except cv2.error:
        return m  # did not converge: keep the profile estimate
    a = w[:, :2]
    shift = 0.5 * (s - 1) + 0.5 * (1 - s) * a.sum(axis=1)
    return np.hstack([a, ((w[:, 2] - shift) / s)[:, None]]).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def fine_score(grey_a: np.ndarray, grey_b: np.ndarray, scale_x: float, offset_x: float,
               scale_y: float, offset_y: float, mirrored: bool, reverse: bool,
               signature_side: int = 32) -> float:
    """1 - (median residual of the aligned pair after a brightness/contrast fit) / contrast.

    A residual within re-encoding noise (:data:`_NOISE`) counts as a copy's
    even on a low-contrast image, where it is a larger share of the contrast.

    The alignment from the 32x32 signatures is refined on the 320 px row and
    column profiles first (a copy must line up to a fraction of a pixel); then
    ``dst ~ gain * src + offset`` is fitted and the median absolute residual,
    relative to the image's own contrast, says how much of the picture the
    two do not share.  Saturated pixels (a brightened copy clips) are left out.
    -1 when there is nothing to compare (a flat image).
    """
    import cv2

    b = grey_b[:, ::-1] if mirrored else grey_b
    src_raw, dst_raw = (b, grey_a) if reverse else (grey_a, b)
    src = cv2.GaussianBlur(np.ascontiguousarray(src_raw, dtype=np.float32), (0, 0), _BLUR)
    dst = cv2.GaussianBlur(np.ascontiguousarray(dst_raw, dtype=np.float32), (0, 0), _BLUR)
    f = FINE_SIDE / signature_side
    sx, ox = _profile_fit(src.mean(axis=0), dst.mean(axis=0), scale_x, offset_x * f)
    sy, oy = _profile_fit(src.mean(axis=1), dst.mean(axis=1), scale_y, offset_y * f)
    m = _ecc_refine(src, dst, np.float32([[sx, 0, ox + 0.5 * sx - 0.5],
                                          [0, sy, oy + 0.5 * sy - 0.5]]))
    warped = cv2.warpAffine(src, m, (FINE_SIDE, FINE_SIDE),
                            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REPLICATE)
    inner = (slice(_MARGIN, -_MARGIN, 2), slice(_MARGIN, -_MARGIN, 2))  # every 2nd pixel
    x, y = warped[inner], dst[inner]
    usable = (x > _DARK) & (x < _BRIGHT) & (y > _DARK) & (y < _BRIGHT)
    if usable.sum() < _MIN_PIXELS:
        return -1.0
    x, y = x[usable], y[usable]
    spread = float(y.std())
    if spread < _FLAT:
        return -1.0
    xc, yc = x - x.mean(), y - y.mean()
    gain = float((xc * yc).mean() / max(float((xc * xc).mean()), 1e-9))
    if gain <= 0:
        return -1.0
    residual = float(np.median(np.abs(yc - gain * xc)))
    share = residual / spread
    if residual <= _NOISE and share <= _NOISE_SHARE:
        share = min(share, _COPY_SHARE * 0.99)
    return float(1.0 - share)
