"""Vet a ``.keras`` file before Keras opens it: a zip archive with sane sizes.

A ``.keras`` file is a zip archive (``config.json``, ``metadata.json``,
``model.weights.h5``).  Someone can send a small one whose ``config.json``
unpacks to gigabytes: Keras reads that member whole into memory before it
looks at it, which costs minutes and gigabytes before any refusal (Keras'
own bomb guard starts at 4 GiB per member).  The zip's central directory
states every member's size up front, and Python's zip reader never yields
more than that stated size, so checking the directory is cheap (no member is
unpacked) and enough.  A file that is not a zip at all gets a plain message
instead of Keras' "File not found".
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from core.errors import ModelFileError

#: The JSON members Keras parses whole; real ones are kilobytes to a few megabytes.
JSON_MEMBERS = ("config.json", "metadata.json")
MAX_JSON_BYTES = 64 * 1024 ** 2
#: All members together, unpacked: far above any keras.applications model (~2 GB at most).
MAX_TOTAL_BYTES = 4 * 1024 ** 3
#: Keras stores members uncompressed, so the whole can hardly exceed the file;
#: a re-zipped file may shrink a few times.  Checked above ``RATIO_FLOOR_BYTES``.
MAX_TOTAL_RATIO = 200
#: One member packed more than this tightly is a bomb, not weights.
MAX_MEMBER_RATIO = 1000
RATIO_FLOOR_BYTES = 8 * 1024 ** 2


def _starts_as_zip(path: Path) -> bool:
    """Whether the file begins as a zip archive does (a local file header)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def check_keras_archive(path: Path) -> None:
    """Raise :class:`ModelFileError` naming ``path`` (and the member) unless it is a sane archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        if _starts_as_zip(path):  # the start of a zip without its end: cut short
            raise ModelFileError(f"{path} is incomplete (cut short while it was copied or "
                                 "downloaded); copy it again, or save or export the model "
                                 "again") from None
        raise ModelFileError(f"{path} is not a Keras model file (a .keras file is a zip "
                             "archive; this one is not); save or export the model again") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read the model file {path} "
                             f"({exc.strerror or exc}); make it readable") from None
    packed = os.path.getsize(path)
    total = 0
    for info in members:
        total += info.file_size
        name = info.filename
        if name in JSON_MEMBERS and info.file_size > MAX_JSON_BYTES:
            raise _refused(path, f"its {name} would unpack to {_mb(info.file_size)} (a real one "
                                 f"is at most a few MB)")
        if info.file_size > RATIO_FLOOR_BYTES and \
                info.file_size > MAX_MEMBER_RATIO * max(info.compress_size, 1):
            raise _refused(path, f"its member {name} would unpack to {_mb(info.file_size)} "
                                 f"from {_mb(info.compress_size)}")
    if total > MAX_TOTAL_BYTES or (total > RATIO_FLOOR_BYTES and
                                   total > MAX_TOTAL_RATIO * max(packed, 1)):
        raise _refused(path, f"its members would unpack to {_mb(total)} in all, from a "
                             f"{_mb(packed)} file")


def _refused(path: Path, why: str) -> ModelFileError:
    return ModelFileError(f"{path} is not opened: {why}, which is what a zip bomb looks like. "
                          "Use a model file saved by Keras or Fine-Tune Studio")


def _mb(n: int) -> str:
    return f"{n / 1024 ** 2:,.1f} MB" if n >= 1024 ** 2 else f"{n:,} bytes"


#: The member of an exported ``.keras`` file that holds the run's calibration (Keras reads
#: only its own members and passes this one by), so a copy of the file taken out of its
#: export folder answers like the app: the temperature had lived only in the folder's
#: metadata.json, and a copy answered 0.785 where the app said 0.464 (a review).
CALIBRATION_MEMBER = "fine_tune_studio_calibration.json"
#: An embedded member above this size is not one the app wrote: it is not read.
MAX_CALIBRATION_BYTES = 64 * 1024


def embed_calibration(path: Path, temperature: float) -> None:
    """Add the calibration's temperature to the ``.keras`` archive ``path`` (a fresh copy
    the export is writing, never the run's own file)."""
    import json

    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(CALIBRATION_MEMBER, json.dumps({"temperature": float(temperature)}))


def embedded_temperature(path: Path) -> float | None:
    """The temperature an exported ``.keras`` file carries (None: none, or not usable)."""
    import json
    import math

    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(CALIBRATION_MEMBER)
            if info.file_size > MAX_CALIBRATION_BYTES:
                return None
            data = json.loads(archive.read(info).decode("utf-8"))
    except (KeyError, OSError, ValueError, zipfile.BadZipFile):
        return None
    t = data.get("temperature") if isinstance(data, dict) else None
    ok = isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t and math.isfinite(t)
    return float(t) if ok else None
