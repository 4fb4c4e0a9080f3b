"""ImageNet weights for a backbone, downloaded once into Keras' own cache.

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

import contextlib
import hashlib
import http.client
import os
import socket
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from core.model.backbones import BackboneSpec
from core.errors import DiskFullError, UserError, WeightsError
from core.events import CancelToken, Listener, Log, Progress, emit
from core.fsutil import atomic_file
from core.stale_temps import remove_stale_temps

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
    _, _, expected = spec.imagenet_file(image_size)
    target = imagenet_weights_path(spec, image_size)
    # What a killed download of it left, also once the file is there: a retry within the
    # hour had kept it for good, as later calls found the file cached (a weights review).
    remove_stale_temps(target)
    if target.is_file() and file_matches(target, expected):
        return target
    url = weights_url(spec, image_size)
    label = f"ImageNet weights for {spec.name}"
    try:
        with atomic_file(target) as tmp:
            got = _download(url, tmp, expected, label, listener, cancel, timeout)
            if expected is not None and got != expected:
                raise WeightsError(_damaged_message(
                    label, url, target, f"are damaged: checksum {got} instead of {expected}"))
            if expected is None and not file_matches(tmp, None):
                raise WeightsError(_damaged_message(
                    label, url, target, "are not a whole HDF5 weights file"))
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
            http.client.HTTPException) as exc:  # HTTPException: a reply cut off or not HTTP
        if str(getattr(exc, "reason", "")).startswith("unknown url type"):  # "host:port/..."
            raise WeightsError(_bad_address(label, url, exc.reason)) from None  # was "offline"
        raise WeightsError(_offline_message(label, url, target, exc)) from None
    except ValueError as exc:  # urllib: "unknown url type" (a mirror without http://)
        raise WeightsError(_bad_address(label, url, exc)) from None
    except DiskFullError:  # it names the file and "the previous version", itself an OSError
        raise WeightsError(f"cannot save {label} to {target}: the disk is full; free some "
                           "disk space and try again, or set KERAS_HOME to a folder on a disk "
                           "with room (the ImageNet weights are kept in Keras' cache, "
                           f"{keras_cache_dir()})") from None
    except OSError as exc:  # cache not writable
        raise WeightsError(f"cannot save {label} to {target}: {exc.strerror or exc}") from None
    except UserError as exc:  # the cache not writable, said by atomic_file: "choose another
        if isinstance(exc, WeightsError):  # folder" offered no choice (a weights review)
            raise
        raise WeightsError(f"{exc}: the ImageNet weights are kept in Keras' cache, "
                           f"{keras_cache_dir()}; set KERAS_HOME to a writable folder to keep "
                           "them there instead") from None
    emit(listener, Log(f"{label} saved to {target}"))
    return target


def _download(url: str, dest: Path, expected: Optional[str], label: str,
              listener: Optional[Listener], cancel: Optional[CancelToken],
              timeout: float) -> Optional[str]:
    """Stream ``url`` into ``dest``; return the hex digest (None when no hash is known)."""
    hasher = _hasher(expected) if expected else None
    request = urllib.request.Request(url, headers={"User-Agent": "FineTuneStudio"})
    with _open(request, timeout, cancel) as response, open(dest, "wb") as out:
        length = response.headers.get("Content-Length") or "0"
        total = int(length) if length.strip().isdigit() else 0  # a bad header: size unknown
        if total > MAX_WEIGHTS_BYTES:  # refused, not "interrupted; try again"
            raise WeightsError(f"cannot download {label} from {url}: the server announces "
                               f"{total / 1e9:,.1f} GB, far more than any ImageNet weights "
                               "file, so it is not the file asked for; check "
                               "FTS_WEIGHTS_BASE_URL or your proxy")
        done = 0
        emit(listener, Progress(0, total, f"downloading {label}", "bytes"))
        with _cut_on_cancel(response, cancel):
            while True:
                try:
                    chunk = response.read1(_CHUNK)  # what has arrived, or wait for more
                except (socket.timeout, TimeoutError):
                    raise TimeoutError(f"no data for {timeout:.0f} s after {done} bytes") \
                        from None
                except (OSError, http.client.HTTPException) as exc:  # cut by Cancel, or the
                    # network (a chunked reply cut short is an IncompleteRead)
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    raise ConnectionError(f"reading failed after {done} bytes ({exc})") \
                        from None
                if cancel is not None:
                    cancel.raise_if_cancelled()
                if not chunk:
                    break
                if done + len(chunk) > MAX_WEIGHTS_BYTES:  # an endless reply filled the disk
                    raise WeightsError(f"cannot download {label} from {url}: more than "
                                       f"{MAX_WEIGHTS_BYTES / 1e9:.0f} GB came, far more than "
                                       "any ImageNet weights file, so it is not the file asked "
                                       "for; check FTS_WEIGHTS_BASE_URL or your proxy")
                out.write(chunk)
                if hasher is not None:
                    hasher.update(chunk)
                done += len(chunk)
                emit(listener, Progress(done, total, f"downloading {label}", "bytes"))
        if total and done != total:
            raise ConnectionError(f"the connection closed after {done} of {total} bytes")
        out.flush()
        os.fsync(out.fileno())
    return hasher.hexdigest() if hasher is not None else None


#: No ImageNet weights file of the catalogue is near this (the largest are about 0.6 GB): a
#: reply announcing or sending more is not the file, and an endless one would fill the disk.
MAX_WEIGHTS_BYTES = 2 * 10 ** 9
#: How often a download waiting for data looks at its cancel token.
_POLL_SECONDS = 0.5


def _open(request, timeout: float, cancel: Optional[CancelToken]):
    """``urlopen`` in a helper thread, so Cancel acts while the server has not answered yet.

    Connecting (DNS, each address of the host, redirects) waited up to the timeout per step
    before the cancel watcher started: Cancel then took 26 s and ended in a "timed out"
    error, closing the window froze it for up to a minute and could abort the app, and
    Ctrl+C was ignored (a weights review).  Given up, the thread closes what it opens."""
    if cancel is None:
        return urllib.request.urlopen(request, timeout=timeout)
    box: dict = {}
    done, abandoned = threading.Event(), threading.Event()

    def connect():
        try:
            box["response"] = urllib.request.urlopen(request, timeout=timeout)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc
        done.set()
        if abandoned.is_set() and "response" in box:
            box["response"].close()

    threading.Thread(target=connect, name="weights-connect", daemon=True).start()
    while not done.wait(_POLL_SECONDS):
        if cancel.cancelled:
            abandoned.set()
            if done.is_set() and "response" in box:  # it answered just now
                box["response"].close()
            cancel.raise_if_cancelled()
    if "error" in box:
        raise box["error"]
    return box["response"]


@contextlib.contextmanager
def _cut_on_cancel(response, cancel: Optional[CancelToken]):
    """While the block runs, a Cancel shuts ``response``'s socket down, so a read waiting on
    a stalled server returns at once instead of after the 30 s timeout.

    Reads themselves wait up to the whole timeout: a per-read timeout of 0.5 s made any
    pause of the server longer than that fatal (Python refuses every read of a socket
    after one timed out: "cannot read from timed out object").  CPython keeps the socket
    as ``response.fp.raw._sock``; where it is not there, Cancel acts between reads.
    """
    sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
    finished = threading.Event()

    def watch():
        while not finished.wait(_POLL_SECONDS):
            if cancel.cancelled:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return

    watcher = None
    if cancel is not None and isinstance(sock, socket.socket):
        watcher = threading.Thread(target=watch, name="download-cancel", daemon=True)
        watcher.start()
    try:
        yield
    finally:
        finished.set()
        if watcher is not None:
            watcher.join()


def _bad_address(label: str, url: str, why) -> str:
    """A download address urllib cannot use: a mirror named without http://.  Given as
    "127.0.0.1:8000/x" (a port, so urllib reads the host as the scheme) it was called
    "offline, or a proxy refuses it" (a weights review)."""
    if os.environ.get("FTS_WEIGHTS_BASE_URL"):
        return (f"cannot download {label} from {url}: {why}; check FTS_WEIGHTS_BASE_URL (it "
                "must start with http:// or https://)")
    return f"cannot download {label} from {url}: {why}"


def _offline_message(label: str, url: str, target: Path, exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.HTTPError):  # one line: a redirect loop's text has breaks
        why = " ".join(f"the server answered HTTP {exc.code} {exc.reason}".split())
    elif isinstance(reason, ssl.SSLCertVerificationError):  # not "offline" (a review)
        checked = getattr(reason, "verify_message", "") or reason
        why = (f"the server's certificate could not be checked ({checked}): a "
               "company proxy that inspects traffic, or a Python without its certificates "
               "(on macOS run 'Install Certificates.command'; elsewhere set SSL_CERT_FILE to "
               "your organisation's certificate file)")
    elif isinstance(exc, (ConnectionError, TimeoutError, socket.timeout,
                          http.client.HTTPException)) and not isinstance(
                              exc, ConnectionRefusedError):
        text = " ".join(str(exc).split()) or type(exc).__name__
        why = f"the download was interrupted ({text}); try again"
    else:
        reason = " ".join(str(reason or exc).split())
        why = (f"no connection ({reason}); this machine seems to be offline, or a proxy "
               "(HTTPS_PROXY) refuses it")
    return f"The {label} could not be downloaded: {why}. {_ways_out(target)} (Address: {url})"


def _damaged_message(label: str, url: str, target: Path, what: str) -> str:
    """A download that came whole but is not the file: it said only "try again", which a
    proxy or sign-in page answering every time makes a loop (a weights review)."""
    return (f"The downloaded {label} {what} (cut short, or a web page such as a network's "
            f"sign-in page); nothing was saved. Try again, or: {_ways_out(target)} "
            f"(Address: {url})")


def _ways_out(target: Path) -> str:
    """What to do without this download, in the user's words (a novice met a URL, an errno
    and HTTPS_PROXY before the way out: a novice review)."""
    there = (f"replace the incomplete or damaged file at {target}" if target.is_file() else
             f"copy the file from another machine to {target}")
    return ("Use a weights file you already have (the window: Model page, Starting weights → "
            f"From a file…; the command line: --weights FILE), {there}, or start from random "
            "weights (None (random start) on the Model page, --weights none), which needs many "
            "more images.")
