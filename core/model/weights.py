"""Weights for a backbone: ImageNet files (downloaded once) or a file the user chose.

Keras would download ImageNet weights by itself, but silently, without a way to
cancel, and with a bare traceback when the machine is offline.  This module
fetches the very same files into the very same cache (``$KERAS_HOME/models``,
same file names and hashes as ``keras/src/applications``), so either side
finds what the other downloaded, and adds what a desktop app needs: progress
events, cancelling, a checksum before the file is used, no half-written file
(download to a temp file beside the target, verify, then rename), and messages
that say where to put the file by hand on an offline machine.

``FTS_WEIGHTS_BASE_URL`` replaces Keras' download root with a mirror: a file is
then fetched from ``<mirror>/<its path after "keras-applications/">``, e.g.
``<mirror>/mobilenet_v2/mobilenet_v2_..._no_top.h5`` (tests use a local server).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from core.model.backbones import BackboneSpec, get_backbone, resolve_image_size
from core.errors import WeightsError
from core.events import CancelToken, Listener, Log, Progress, emit
from core.fsutil import atomic_file, remove_stale_temps

_ROOT_MARK = "keras-applications/"
_CHUNK = 256 * 1024
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def weights_url(spec: BackboneSpec, image_size: Optional[int] = None) -> str:
    """Where the no-top ImageNet file of ``spec`` is downloaded from."""
    _, url, _ = spec.imagenet_file(image_size)
    base = os.environ.get("FTS_WEIGHTS_BASE_URL")
    if not base:
        return url
    return base.rstrip("/") + "/" + url.split(_ROOT_MARK, 1)[-1]


def keras_cache_dir() -> Path:
    """The folder Keras' ``get_file`` caches application weights in."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def imagenet_weights_path(spec: BackboneSpec, image_size: Optional[int] = None) -> Path:
    """Where the ImageNet file of ``spec`` lives once downloaded."""
    file_name, _, _ = spec.imagenet_file(image_size)
    return keras_cache_dir() / file_name


def _hasher(expected: str):
    # keras.utils.file_utils.resolve_hasher: 64 hex digits are sha256, else md5.
    return hashlib.sha256() if len(expected) == 64 else hashlib.md5()


def file_matches(path: Path, expected: Optional[str]) -> bool:
    """True when ``path`` has the expected md5/sha256 (or, without one, is a whole HDF5
    file: a download cut short kept the header and was trusted for good)."""
    try:
        with open(path, "rb") as fh:
            if expected is None:
                return fh.read(len(_HDF5_MAGIC)) == _HDF5_MAGIC and _whole_hdf5(path)
            h = _hasher(expected)
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return False
    return h.hexdigest() == expected


def _whole_hdf5(path: Path) -> bool:
    """Whether HDF5 opens ``path``: it checks the file's recorded end against its size."""
    import h5py

    try:
        with h5py.File(path, "r"):
            return True
    except Exception:  # OSError "truncated file", or anything h5py says of a broken file
        return False


def ensure_imagenet_weights(spec: BackboneSpec, listener: Optional[Listener] = None,
                            cancel: Optional[CancelToken] = None, timeout: float = 30,
                            image_size: Optional[int] = None) -> Path:
    """The cached no-top ImageNet file for ``spec``, downloading it first if needed.

    Emits :class:`~core.events.Progress` (bytes) while downloading and raises
    :class:`~core.events.Cancelled` when ``cancel`` is set; a failed, cancelled
    or corrupt download leaves no file behind.  ``image_size`` only matters for
    MobileNetV2, which has one file per training resolution.
    """
    file_name, _, expected = spec.imagenet_file(image_size)
    target = imagenet_weights_path(spec, image_size)
    if target.is_file() and file_matches(target, expected):
        return target
    url = weights_url(spec, image_size)
    label = f"ImageNet weights for {spec.name}"
    remove_stale_temps(target)  # what a killed download of it left
    try:
        with atomic_file(target) as tmp:
            got = _download(url, tmp, expected, label, listener, cancel, timeout)
            if expected is not None and got != expected:
                raise WeightsError(
                    f"the downloaded {label} ({file_name}, from {url}) are damaged: checksum "
                    f"{got} instead of {expected} (cut short, or a web page such as a "
                    "network's sign-in page); nothing was saved, try again")
            if expected is None and not file_matches(tmp, None):
                raise WeightsError(
                    f"the downloaded {label} ({file_name}, from {url}) is not a whole HDF5 "
                    "weights file (cut short, or a web page such as a network's sign-in "
                    "page); nothing was saved, try again")
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
            http.client.HTTPException) as exc:  # HTTPException: a reply cut off or not HTTP
        raise WeightsError(_offline_message(label, url, target, exc)) from None
    except ValueError as exc:  # urllib: "unknown url type" (a mirror without http://)
        raise WeightsError(f"cannot download {label} from {url}: {exc}; check "
                           "FTS_WEIGHTS_BASE_URL (it must start with http:// or https://)"
                           if os.environ.get("FTS_WEIGHTS_BASE_URL") else
                           f"cannot download {label} from {url}: {exc}") from None
    except OSError as exc:  # disk full, cache not writable
        raise WeightsError(f"cannot save {label} to {target}: {exc.strerror or exc}") from None
    emit(listener, Log(f"{label} saved to {target}"))
    return target


def _download(url: str, dest: Path, expected: Optional[str], label: str,
              listener: Optional[Listener], cancel: Optional[CancelToken],
              timeout: float) -> Optional[str]:
    """Stream ``url`` into ``dest``; return the hex digest (None when no hash is known)."""
    hasher = _hasher(expected) if expected else None
    request = urllib.request.Request(url, headers={"User-Agent": "FineTuneStudio"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as out:
        length = response.headers.get("Content-Length") or "0"
        total = int(length) if length.strip().isdigit() else 0  # a bad header: size unknown
        done = 0
        emit(listener, Progress(0, total, f"downloading {label}"))
        _poll_reads(response)
        waited = 0.0
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                chunk = response.read1(_CHUNK)  # what has arrived: a slow server still cancels
            except (socket.timeout, TimeoutError):
                waited += _POLL_SECONDS
                if waited >= timeout:
                    raise TimeoutError(f"no data for {timeout:.0f} s after {done} bytes")
                continue
            waited = 0.0
            if not chunk:
                break
            out.write(chunk)
            if hasher is not None:
                hasher.update(chunk)
            done += len(chunk)
            emit(listener, Progress(done, total, f"downloading {label}"))
        if total and done != total:
            raise ConnectionError(f"the connection closed after {done} of {total} bytes")
        out.flush()
        os.fsync(out.fileno())
    return hasher.hexdigest() if hasher is not None else None


#: How often a download waiting for data looks at its cancel token.
_POLL_SECONDS = 0.5


def _poll_reads(response) -> None:
    """Make each read of ``response`` wait at most :data:`_POLL_SECONDS`, so Cancel (and
    closing the window) acts at once on a stalled server instead of after the 30 s timeout.

    urllib offers no per-read timeout, so the open socket's is set (CPython keeps it as
    ``response.fp.raw._sock``); where that is not there, reads keep the connect timeout.
    """
    sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
    if isinstance(sock, socket.socket):
        sock.settimeout(_POLL_SECONDS)


def _offline_message(label: str, url: str, target: Path, exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        why = f"the server answered HTTP {exc.code} {exc.reason}"
    elif isinstance(exc, (ConnectionError, TimeoutError, socket.timeout,
                          http.client.HTTPException)) and not isinstance(
                              exc, ConnectionRefusedError):
        text = " ".join(str(exc).split()) or type(exc).__name__
        why = f"the download was interrupted ({text}); try again"
    else:
        reason = " ".join(str(getattr(exc, "reason", None) or exc).split())
        why = f"no connection ({reason}); this machine seems to be offline"
    there = (f"The file at {target} is there but incomplete or damaged: replace it, or "
             if target.is_file() else "Copy that file from another machine to "
             f"{target}, or ")
    return (f"cannot download {label} from {url}: {why}. {there}use a weights file you "
            "already have (the window: Model page, Starting weights → From a file…; the "
            "command line: --weights FILE), or start from random weights (None (random start) "
            "on the Model page, --weights none), which needs many more images.")


def check_weights_file(path: str | os.PathLike, spec: BackboneSpec, image_size: int) -> Path:
    """Check that a user-chosen .h5 / .weights.h5 file fits ``spec`` at ``image_size``.

    Builds the backbone (no top, random weights) and loads the file into it, so
    every way a file can be wrong is found now rather than an hour into
    training; shapes are compared first to name the first layer that differs.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"weights file {path} not found; choose an existing .h5 or "
                           ".weights.h5 file, or use weights 'imagenet' or 'none'")
    import h5py

    try:
        is_hdf5 = h5py.is_hdf5(str(path))
    except OSError as exc:  # no read permission: "Unable to determine if file is accessible"
        raise WeightsError(f"{path}: cannot read the weights file "
                           f"({getattr(exc, 'strerror', None) or 'permission denied'}); make it "
                           "readable or choose another file") from None
    if not is_hdf5:
        import zipfile

        what = ("a whole Keras model (.keras), not the weights of a backbone"
                if zipfile.is_zipfile(path) else "not a Keras weights file (not HDF5)")
        raise WeightsError(f"{path} is {what}; choose a .h5 or .weights.h5 file of the "
                           "backbone's weights saved by Keras")
    from core.model.build import build_backbone

    keras_name = str(path)
    if not keras_name.endswith((".h5", ".hdf5")):
        raise WeightsError(f"{path}: Keras reads weights only from files ending in .h5 or "
                           ".weights.h5; rename the file")
    backbone = build_backbone(spec, image_size)
    try:
        with h5py.File(path, "r") as f:
            if keras_name.endswith(".weights.h5"):
                problem = _compare_keras3(f, backbone, spec)
            else:
                problem = _compare_legacy(f, backbone, spec)
    except OSError as exc:
        if "truncated" in str(exc):
            raise WeightsError(f"{path} is incomplete (cut short while it was copied or "
                               "downloaded); copy it again") from None
        raise WeightsError(f"{path}: cannot read the weights file ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:  # its layer list names a missing group
        raise WeightsError(f"{path} is damaged or was not saved by Keras ({exc}); choose the "
                           "backbone's weights file as Keras saved it") from None
    if problem:
        raise WeightsError(f"{path} does not fit {spec.name} at {image_size} px: {problem}")
    try:
        backbone.load_weights(str(path))
    except Exception as exc:  # anything the shape check did not foresee
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path} cannot be loaded into {spec.name} at {image_size} px: "
                           f"{first}") from None
    return path


def _shape(s) -> str:
    return "(" + ",".join(str(int(d)) for d in s) + ")"


def _legacy_layer_weights(layer) -> list:
    # The order keras.src.legacy.saving.legacy_h5_format writes and reads.
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _attr_list(obj, name: str) -> list[str]:
    values = obj.attrs.get(name, [])
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _compare_legacy(f, backbone, spec: BackboneSpec) -> str:
    """Compare a legacy Keras .h5 file (loaded by layer order) with the backbone."""
    group = f["model_weights"] if "model_weights" in f else f
    if "layer_names" not in group.attrs:
        if "layers" in f:  # saved by Keras 3 under a legacy name
            return ("it is a Keras 3 weights file named like a legacy one: rename it to end in "
                    ".weights.h5")
        return "it holds no Keras layer weights (no 'layer_names'); was it saved by Keras?"
    saved = []
    for lname in _attr_list(group, "layer_names"):
        wnames = _attr_list(group[lname], "weight_names")
        if wnames:
            saved.append((lname, [(w, group[lname][w].shape) for w in wnames]))
    layers = [(layer, _legacy_layer_weights(layer)) for layer in backbone.layers]
    layers = [(layer, ws) for layer, ws in layers if ws]
    n_saved = sum(len(ws) for _, ws in saved)
    n_model = sum(len(ws) for _, ws in layers)
    if n_saved != n_model or len(saved) != len(layers):
        return (f"the file has {n_saved} weight arrays in {len(saved)} layers, {spec.name} has "
                f"{n_model} in {len(layers)} (another architecture, or a model with its "
                "classification top)")
    for (lname, saved_ws), (layer, model_ws) in zip(saved, layers):
        if len(saved_ws) != len(model_ws):
            return (f"layer '{layer.name}' has {len(model_ws)} weight arrays, the file's "
                    f"'{lname}' has {len(saved_ws)}")
        for (wname, wshape), var in zip(saved_ws, model_ws):
            if tuple(wshape) != tuple(var.shape):
                short = wname.rsplit("/", 1)[-1].split(":")[0]
                return (f"layer '{layer.name}' expects {short} {_shape(var.shape)}, file has "
                        f"{_shape(wshape)}")
    return ""


def _snake(name: str) -> str:
    # keras.src.utils.naming.to_snake_case, which names entries in .weights.h5 files.
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _compare_keras3(f, backbone, spec: BackboneSpec) -> str:
    """Compare a Keras 3 ``.weights.h5`` file with the backbone.

    Keras 3 stores a model's layers by class and position, not by layer name
    ("layers/conv2d_3/vars/0" is the fourth Conv2D), so the keys are rebuilt
    the same way (keras/src/saving/saving_lib.py, _save_container_state).
    """
    if "layers" not in f:
        if "layer_names" in f.attrs or "model_weights" in f:  # tf.keras 2's layout
            return ("it is a legacy Keras weights file (tf.keras 2's layout) named like a "
                    "Keras 3 one: rename it to end in .h5, not .weights.h5")
        return "it holds no Keras 3 layer weights (no 'layers' group)"
    root = f["layers"]
    n_saved = 0

    def count(name, obj):
        nonlocal n_saved
        if hasattr(obj, "shape") and "/vars/" in f"/{name}":
            n_saved += 1

    root.visititems(count)
    used: dict[str, int] = {}
    n_model = 0
    for layer in backbone.layers:
        base = _snake(type(layer).__name__)
        key = base if base not in used else f"{base}_{used[base]}"
        used[base] = used.get(base, 0) + 1
        n_model += len(layer.weights)
        if not layer.weights or key not in root or "vars" not in root[key]:
            continue
        saved = root[key]["vars"]
        for i, var in enumerate(layer.weights):
            if str(i) in saved and tuple(saved[str(i)].shape) != tuple(var.shape):
                short = var.path.rsplit("/", 1)[-1]
                return (f"layer '{layer.name}' expects {short} {_shape(var.shape)}, file has "
                        f"{_shape(saved[str(i)].shape)}")
    if n_saved != n_model:
        return (f"the file has {n_saved} weight arrays, {spec.name} has {n_model} (another "
                "architecture, or a model with its classification top)")
    return ""


def resolve_weights(model_cfg, image_size: int, listener: Optional[Listener] = None,
                    cancel: Optional[CancelToken] = None) -> Optional[str]:
    """The weights file to build ``model_cfg`` with: ImageNet (downloaded), none, or a checked file."""
    spec = get_backbone(model_cfg.backbone)
    choice = (model_cfg.weights or "").strip()
    if choice.lower() == "imagenet":
        return str(ensure_imagenet_weights(spec, listener, cancel, image_size=image_size))
    if choice.lower() in ("none", ""):
        return None
    return str(check_weights_file(choice, spec, image_size))


def fetch_imagenet_for(model_cfg, listener: Optional[Listener] = None,
                       cancel: Optional[CancelToken] = None) -> Path:
    """Download (once) the ImageNet file ``model_cfg``'s backbone will start from at its size.

    The Model page's "Download now": the same file training would fetch, ahead of time.
    """
    spec = get_backbone(model_cfg.backbone)
    size = resolve_image_size(spec, model_cfg.image_size, "imagenet")
    return ensure_imagenet_weights(spec, listener=listener, cancel=cancel, image_size=size)


def check_weights_file_for(model_cfg, path: str | os.PathLike) -> Path:
    """Check that ``path`` fits ``model_cfg``'s backbone at the size it would be built with."""
    spec = get_backbone(model_cfg.backbone)
    return check_weights_file(path, spec, resolve_image_size(spec, model_cfg.image_size, str(path)))
