"""One JSON instance -> an (S, S, 3) array of raw RGB 0-255, decoded as the app decodes.

An instance is ``{"b64": "<base64 of an image file>"}`` (TensorFlow Serving's
convention for binary values) or an H x W x 3 array of pixel values 0..255.
Files go through :func:`core.data.imageio.load_rgb`, the app's one decoder, so the
server answers exactly what ``predict`` answers for the same file; arrays of
another size are squashed to the model's size with the same filter that decoder
uses.  Every problem is a :class:`BadInstance` whose message says what to send.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import tempfile

import numpy as np
from PIL import Image

#: The largest pixel array accepted (width x height) before it is resized.
MAX_ARRAY_PIXELS = 4096 * 4096

_URLSAFE = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_DATA_URL = re.compile(r"data:[^,;]*(;[^,]*)?,")
#: The decoder's advice about a file in a folder that means nothing for a request's image.
_FOLDER_ADVICE = re.compile(r",? or remove it\b|\bremove it or ")
#: The served signature's one input, by which TensorFlow Serving's row format may name it
#: (and its columnar format does).
INPUT_NAME = "image"


class BadInstance(ValueError):
    """An instance the server cannot turn into an image (answered with a 400)."""


def decode_b64_image(text: str, size: int, index: int) -> np.ndarray:
    """Decode base64 image-file bytes with the app's decoder (through a private temp file).

    :func:`core.data.imageio.load_rgb` reads regular files only (its safety
    checks and the streaming decoder of huge images rely on that), so the bytes
    go to a temp file readable by this user only, removed right after.
    """
    from core.data.imageio import ImageError, load_rgb

    if not isinstance(text, str) or not text:
        raise BadInstance(f"instance {index}: 'b64' must be a non-empty base64 string")
    text = "".join(text.split())  # line-wrapped base64 ('base64' without -w0, MIME) is fine
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        if _DATA_URL.match(text):  # what a browser's FileReader gives
            raise BadInstance(f"instance {index}: 'b64' starts with a data URL's "
                              f"{text[:text.index(',') + 1][:40]!r}; send only what follows "
                              "the comma") from None
        if not _URLSAFE.fullmatch(text):  # TF Serving clients often send URL-safe base64
            raise BadInstance(f"instance {index}: 'b64' is not valid base64") from None
        try:
            data = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
        except (binascii.Error, ValueError):
            raise BadInstance(f"instance {index}: 'b64' is not valid base64") from None
    if not data:
        raise BadInstance(f"instance {index}: 'b64' decodes to no bytes")
    fd, tmp = tempfile.mkstemp(prefix="fts-serve-", suffix=".img")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return load_rgb(tmp, size)
    except ImageError as exc:
        raise BadInstance(f"instance {index}: {for_upload(exc.reason)}") from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def for_upload(reason: str) -> str:
    """The decoder's reason, its advice put for a client: "...; convert it to PNG or JPEG,
    or remove it" is for a file in a data folder; a request has nothing to remove (a review)."""
    return _FOLDER_ADVICE.sub("", reason)


def pixels_to_array(value, size: int, index: int) -> np.ndarray:
    """An H x W x 3 nested list of 0..255 numbers -> (size, size, 3) float32."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise BadInstance(f"instance {index}: not a rectangular array of numbers") from None
    if arr.dtype.kind == "O":  # integers over 64 bits (10**30) are numbers, just too large
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            pass  # ragged, or not numbers: said below
    if arr.dtype.kind not in "iuf":  # strings, booleans, ragged lists
        raise BadInstance(f"instance {index}: not a rectangular array of numbers (0-255)")
    if arr.size and (not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 255):
        raise BadInstance(f"instance {index}: pixel values must be numbers from 0 to 255")
    if arr.dtype.kind == "f" and arr.size and arr.max() <= 1.0 and (arr != np.rint(arr)).any():
        # pixels scaled to 0..1, as most TensorFlow client code writes them: every image was
        # answered, confidently and wrongly (a green part "blue" at 0.50; a serve review)
        raise BadInstance(f"instance {index}: pixel values are all between 0 and 1: send RGB "
                          "values from 0 to 255 (multiply by 255), or the image file as b64")
    arr = arr.astype(np.float32)  # after the check: 1e308 overflowed the cast with a warning
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise BadInstance(f"instance {index}: shape {list(arr.shape)} is not H x W x 3 "
                          "(RGB pixel values 0-255); send {\"b64\": ...} for an image file")
    if arr.shape[0] * arr.shape[1] > MAX_ARRAY_PIXELS:
        raise BadInstance(f"instance {index}: {arr.shape[1]}x{arr.shape[0]} pixels is over the "
                          f"limit of {MAX_ARRAY_PIXELS} pixels; send the image file as b64")
    if arr.shape[:2] == (size, size):
        return arr
    img = Image.fromarray(np.rint(arr).astype(np.uint8))  # the decoder's filter, on uint8 pixels
    img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(img, dtype=np.float32)


def instance_to_array(instance, size: int, index: int) -> np.ndarray:
    """Dispatch on the instance's form; see the module docstring."""
    if isinstance(instance, dict) and set(instance) == {INPUT_NAME}:
        instance = instance[INPUT_NAME]  # the row format naming the one input, as TF Serving
    if isinstance(instance, dict):
        if set(instance) != {"b64"}:
            raise BadInstance(f"instance {index}: an object instance must be "
                              "{\"b64\": \"<base64 of an image file>\"} (or {\"image\": ...} "
                              "with that or a pixel array)")
        return np.asarray(decode_b64_image(instance["b64"], size, index), dtype=np.float32)
    if isinstance(instance, list):
        return pixels_to_array(instance, size, index)
    raise BadInstance(f"instance {index}: expected {{\"b64\": ...}} or an H x W x 3 pixel array")
