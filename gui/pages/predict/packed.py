"""The Predict page's card pictures, kept as JPEG bytes and decoded when a card is painted.

Why: a card's picture is a 112-pixel RGB ``QImage`` of about 37 KB, and the page kept one
(two with Grad-CAM) per image predicted: a folder of 100 000 images held 3.7 GB of
pictures nobody scrolls through.  As JPEG at quality 90 one is about 5 KB, and only the
cards on screen are decoded (a few hundred microseconds each), through a small cache so a
repaint decodes nothing again.  The JPEG is made in the job's worker thread with Pillow,
the app's decoder, from the same array the picture was.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from typing import Any, Optional

from PySide6.QtGui import QImage

#: Decoded pictures kept: more than the cards a large window shows at once.
CACHE = 400
QUALITY = 90


class Packed:
    """One picture's JPEG bytes."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def pack(array: Any) -> Packed:
    """An (H, W, 3) uint8 RGB array as JPEG bytes (in a worker: no Qt involved)."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array).save(out, "JPEG", quality=QUALITY)
    return Packed(out.getvalue())


_decoded: "OrderedDict[Packed, QImage]" = OrderedDict()


def image_of(picture: Optional[Packed]) -> Optional[QImage]:
    """The picture as a ``QImage`` (the same object while it stays in the cache)."""
    if picture is None:
        return None
    image = _decoded.get(picture)
    if image is None:
        image = QImage.fromData(picture.data, "JPEG")
        _decoded[picture] = image
        while len(_decoded) > CACHE:
            _decoded.popitem(last=False)
    else:
        _decoded.move_to_end(picture)
    return image
