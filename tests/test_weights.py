"""ImageNet weights download (from a local HTTP server) and checks of user weights files."""

import dataclasses
import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import pytest

from core.model.backbones import get_backbone
from core.config import ModelConfig
from core.errors import WeightsError
from core.events import CancelToken, Cancelled, Progress
from core.model.imagenet_download import (ensure_imagenet_weights, imagenet_weights_path,
                                          keras_cache_dir, weights_url)
from core.model.weights import check_weights_file, resolve_weights


class _Server:
    """A static file server on 127.0.0.1 that counts the requests it answers."""

    def __init__(self, root: Path):
        self.requests = 0
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                outer.requests += 1
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    root = tmp_path / "mirror"
    root.mkdir()
    server = _Server(root)
    monkeypatch.setenv("FTS_WEIGHTS_BASE_URL", server.url)
    yield root, server
    server.close()


def _publish(root: Path, spec, data: bytes, algo: str = "md5"):
    """Put ``data`` where the mirror serves ``spec``'s file; return the spec with its hash."""
    rel = spec.weights_url.split("keras-applications/", 1)[1]
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    digest = hashlib.new(algo, data).hexdigest()
    return dataclasses.replace(spec, weights_hash=digest)


def _cache_files():
    folder = keras_cache_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("algo", ["md5", "sha256"])
def test_download_reports_progress_and_lands_in_the_keras_cache(mirror, algo):
    root, server = mirror
    data = os.urandom(700_000)  # several 256 KiB chunks
    spec = _publish(root, get_backbone("MobileNetV3Small"), data, algo)
    events = []
    path = ensure_imagenet_weights(spec, listener=events.append)
    assert path == keras_cache_dir() / spec.weights_file
    assert path.read_bytes() == data
    assert os.environ["KERAS_HOME"] in str(path)  # the isolated test home, not ~/.keras
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[0].done == 0 and progress[0].total == len(data)
    downloads = [e for e in progress if e.message.startswith("downloading")]
    assert len(downloads) >= 4 and downloads[-1].done == len(data)
    assert [e.done for e in downloads] == sorted(e.done for e in downloads)
    assert {e.unit for e in progress} == {"bytes"}  # the command line shows MB
    assert _cache_files() == [spec.weights_file]  # no temp file left
    # A second call finds the verified file and does not download again.
    assert ensure_imagenet_weights(spec) == path
    assert server.requests == 1


def test_what_a_killed_download_left_is_removed_by_the_next_one(mirror):
    """kill -9 during a download left its hidden temporary file in the Keras cache, 100 MB
    or so each time; one still being written (recent) is left alone."""
    import time

    root, _ = mirror
    spec = _publish(root, get_backbone("MobileNetV3Small"), os.urandom(1000))
    target = keras_cache_dir() / spec.weights_file
    target.parent.mkdir(parents=True, exist_ok=True)
    stale = target.parent / f".{target.stem}.abc123.tmp{target.suffix}"
    live = target.parent / f".{target.stem}.def456.tmp{target.suffix}"
    other = target.parent / f".other.abc123.tmp{target.suffix}"
    for p in (stale, live, other):
        p.write_bytes(b"cut off")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    ensure_imagenet_weights(spec)
    assert not stale.exists() and live.exists() and other.exists()


def test_wrong_hash_is_refused_and_leaves_no_file(mirror):
    root, _ = mirror
    spec = _publish(root, get_backbone("EfficientNetB0"), b"\x89HDF\r\n\x1a\n" + b"x" * 1000)
    spec = dataclasses.replace(spec, weights_hash="0" * 32)
    with pytest.raises(WeightsError) as err:
        ensure_imagenet_weights(spec)
    assert spec.weights_file in str(err.value) and "checksum" in str(err.value)
    assert _cache_files() == []


def test_damaged_cached_file_is_downloaded_again(mirror):
    root, server = mirror
    data = os.urandom(5000)
    spec = _publish(root, get_backbone("DenseNet121"), data)
    target = imagenet_weights_path(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data[:100])  # an interrupted download by another tool
    assert ensure_imagenet_weights(spec).read_bytes() == data
    assert server.requests == 1


def test_offline_message_names_the_url_and_where_to_put_the_file(monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("FTS_WEIGHTS_BASE_URL", f"http://127.0.0.1:{port}/")
    spec = get_backbone("MobileNetV3Large")
    with pytest.raises(WeightsError) as err:
        ensure_imagenet_weights(spec, timeout=5)
    text = str(err.value)
    assert weights_url(spec) in text and "offline" in text
    assert str(keras_cache_dir() / spec.weights_file) in text
    # The way out that works offline: a weights file the user already has.
    assert "Starting weights → From a file…" in text and "--weights FILE" in text
    assert "'none'" not in text and text.count(". ") <= 3
    # ... or no pretrained weights at all, named as the window and the CLI name it.
    assert "None (random start)" in text and "--weights none" in text
    assert _cache_files() == []


def test_http_error_is_reported(mirror):
    spec = get_backbone("Xception")  # not published on the mirror: 404
    with pytest.raises(WeightsError) as err:
        ensure_imagenet_weights(spec)
    assert "HTTP 404" in str(err.value) and str(imagenet_weights_path(spec)) in str(err.value)
    assert _cache_files() == []


def test_cancel_during_download_leaves_no_partial_file(mirror):
    root, _ = mirror
    spec = _publish(root, get_backbone("ResNet50"), os.urandom(2_000_000))
    token = CancelToken()

    def listener(event):
        if isinstance(event, Progress) and event.done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        ensure_imagenet_weights(spec, listener=listener, cancel=token)
    assert _cache_files() == []


def test_mobilenet_v2_file_without_published_hash_must_be_hdf5(mirror, tmp_path):
    root, _ = mirror
    spec = get_backbone("MobileNetV2")
    name, url, file_hash = spec.imagenet_file(128)
    assert file_hash is None
    rel = url.split("keras-applications/", 1)[1]
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text("<html>captive portal</html>")
    with pytest.raises(WeightsError) as err:
        ensure_imagenet_weights(spec, image_size=128)
    assert "not a whole HDF5" in str(err.value)
    assert _cache_files() == []
    import h5py
    import numpy as np

    whole = tmp_path / "whole.h5"
    with h5py.File(whole, "w") as f:
        f["w"] = np.arange(50_000, dtype=np.float32)
    data = whole.read_bytes()
    # cut short with no Content-Length to tell: the header alone was trusted for good
    (root / rel).write_bytes(data[:len(data) // 2])
    with pytest.raises(WeightsError, match="not a whole HDF5"):
        ensure_imagenet_weights(spec, image_size=128)
    (root / rel).write_bytes(data)
    target = imagenet_weights_path(spec, 128)
    target.write_bytes(data[:len(data) // 2])  # an earlier cut-off copy in the cache
    assert ensure_imagenet_weights(spec, image_size=128).read_bytes() == data  # fetched again
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as Keras' own (it was 0600)


# -- user-chosen weights files ----------------------------------------------


def _save_legacy_h5(model, path: Path) -> Path:
    """Write ``model``'s weights in the legacy .h5 layout of Keras' ImageNet files."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def _mobilenet_v2(alpha=1.0, size=32):
    import keras

    return keras.applications.MobileNetV2(include_top=False, weights=None, alpha=alpha,
                                          input_shape=(size, size, 3))


def test_missing_and_non_hdf5_files_are_refused(tmp_path):
    spec = get_backbone("MobileNetV2")
    with pytest.raises(WeightsError) as err:
        check_weights_file(tmp_path / "nope.h5", spec, 32)
    assert "nope.h5" in str(err.value) and "not found" in str(err.value)
    text = tmp_path / "notes.h5"
    text.write_text("these are not weights")
    with pytest.raises(WeightsError) as err:
        check_weights_file(text, spec, 32)
    assert "notes.h5" in str(err.value) and "HDF5" in str(err.value)
    # a run folder and a run's own weights given as the weights file: said what they are
    run = tmp_path / "run.weights.h5"
    run.mkdir()
    (run / "model.keras").write_bytes(b"")
    with pytest.raises(WeightsError, match="is a folder, not a weights file.*--from-run"):
        check_weights_file(run, spec, 32)
    import numpy as np

    npz = tmp_path / "best.weights.h5"
    with open(npz, "wb") as fh:
        np.savez(fh, a=np.zeros(3))
    with pytest.raises(WeightsError, match="a run's own weights \\(a numpy archive\\)"):
        check_weights_file(npz, spec, 32)


@pytest.mark.parametrize("name, fixed", [("backbone.WEIGHTS.H5", "backbone.weights.h5"),
                                         ("backbone.WEIGHTS.h5", "backbone.weights.h5"),
                                         ("legacy.H5", "legacy.h5")])
def test_a_suffix_in_capitals_is_named_as_the_cause(tiny_weights, tmp_path, name, fixed):
    """Keras tells its formats by a lower-case suffix: "backbone.WEIGHTS.H5" was told to end
    in .h5, and "x.WEIGHTS.h5" was called "a Keras 3 file named like a legacy one" (note 23's
    leftover)."""
    import shutil

    copy = tmp_path / name
    shutil.copy(tiny_weights, copy)
    with pytest.raises(WeightsError, match=f"in lower case; rename the file to {fixed}$"):
        check_weights_file(copy, get_backbone("MobileNetV3Small"), 32)
    shutil.move(copy, tmp_path / fixed)
    if fixed.endswith(".weights.h5"):  # the renamed file is taken
        assert check_weights_file(tmp_path / fixed, get_backbone("MobileNetV3Small"), 32)


def test_weights_of_another_width_name_the_first_mismatching_layer(tmp_path):
    path = _save_legacy_h5(_mobilenet_v2(alpha=0.35), tmp_path / "mnv2_035.h5")
    with pytest.raises(WeightsError) as err:
        check_weights_file(path, get_backbone("MobileNetV2"), 32)
    assert "layer 'Conv1' expects kernel (3,3,3,32), file has (3,3,3,16)" in str(err.value)
    # the shapes alone told a lab user nothing (a message review)
    assert "It holds another model's weights: choose MobileNetV2's own weights file" in \
        str(err.value)


def test_a_weights_file_that_cannot_be_opened_says_why_in_a_few_words():
    """h5py's permission error carried the whole HDF5 stack ("flags = 0, o_flags = 0")."""
    import errno

    from core.model.weights import _why_unread

    stack = ("Unable to determine if file is accessible as hdf5 (unable to open file: name = "
             "'x.h5', errno = 13, error message = 'Permission denied', flags = 0, o_flags = 0)")
    assert _why_unread(OSError(stack)) == "permission denied"
    assert _why_unread(OSError(errno.EACCES, "whatever")) == "permission denied"
    assert _why_unread(OSError(errno.EIO, "Input/output error")) == "Input/output error"
    assert _why_unread(OSError(stack.replace("Permission denied", "xx"))) == \
        "the file cannot be opened"


def test_weights_of_another_architecture_give_the_counts(tmp_path):
    import keras

    small = keras.applications.MobileNetV3Small(include_top=False, weights=None,
                                                input_shape=(32, 32, 3))
    path = _save_legacy_h5(small, tmp_path / "v3small.h5")
    with pytest.raises(WeightsError) as err:
        check_weights_file(path, get_backbone("MobileNetV2"), 32)
    text = str(err.value)
    assert "MobileNetV2 has 260" in text and "weight arrays" in text


def test_the_backbones_file_with_its_classification_top_is_said_to_be_that(tmp_path):
    """Keras' MobileNetV2 ImageNet file with its classifier (what weights='imagenet' fetches
    by default), and a plain-Keras classifier's own weights, were "another model's weights"
    (a review): the message says what the file is and which file to choose instead."""
    import keras

    spec = get_backbone("MobileNetV2")
    top = keras.applications.MobileNetV2(include_top=True, weights=None,
                                         input_shape=(96, 96, 3))
    legacy = _save_legacy_h5(top, tmp_path / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels"
                                             "_1.0_224.h5")
    modern = tmp_path / "top.weights.h5"
    top.save_weights(str(modern))
    for path, extra in ((legacy, "'predictions'"), (modern, "'dense'")):
        with pytest.raises(WeightsError) as err:
            check_weights_file(path, spec, 32)
        text = str(err.value)
        assert text.startswith(f"{path} holds MobileNetV2's weights with a classification "
                               f"top besides (layer {extra})")
        assert spec.weights_file in text and "another model's weights" not in text
    base = _mobilenet_v2()
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(base(inputs)))
    nested = tmp_path / "my_finetuned.weights.h5"
    keras.Model(inputs, outputs).save_weights(str(nested))
    with pytest.raises(WeightsError, match="holds a whole classifier with MobileNetV2 nested "
                                           "inside it .*save the MobileNetV2 layer's weights"):
        check_weights_file(nested, spec, 32)


def test_matching_files_pass_in_both_formats_and_at_another_size(tmp_path):
    spec = get_backbone("MobileNetV2")
    source = _mobilenet_v2(size=32)
    legacy = _save_legacy_h5(source, tmp_path / "mine.h5")
    assert check_weights_file(legacy, spec, 48) == legacy  # conv weights fit any input size
    modern = tmp_path / "mine.weights.h5"
    source.save_weights(str(modern))
    assert check_weights_file(modern, spec, 32) == modern


def test_keras3_weights_file_of_another_width_is_refused(tmp_path):
    path = tmp_path / "narrow.weights.h5"
    _mobilenet_v2(alpha=0.35).save_weights(str(path))
    with pytest.raises(WeightsError) as err:
        check_weights_file(path, get_backbone("MobileNetV2"), 32)
    assert "expects kernel (3,3,3,32), file has (3,3,3,16)" in str(err.value)


def test_resolve_weights_for_each_choice(tmp_path, mirror):
    root, _ = mirror
    assert resolve_weights(ModelConfig(backbone="MobileNetV2", weights="none"), 32) is None
    legacy = _save_legacy_h5(_mobilenet_v2(), tmp_path / "mine.h5")
    got = resolve_weights(ModelConfig(backbone="mobilenetv2", weights=str(legacy)), 32)
    assert got == str(legacy)
    name, url, _ = get_backbone("MobileNetV2").imagenet_file(96)
    rel = url.split("keras-applications/", 1)[1]
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(legacy.read_bytes())
    got = resolve_weights(ModelConfig(backbone="MobileNetV2", weights="imagenet"), 96)
    assert got == str(keras_cache_dir() / name)


class _RawServer:
    """A server on 127.0.0.1 that sends ``reply`` bytes to each connection, then waits."""

    def __init__(self, reply: bytes, then_wait: float = 0.0, rest: bytes = b""):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.stop = threading.Event()

        def serve():
            while not self.stop.is_set():
                try:
                    conn, _ = self.sock.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(65536)
                    conn.sendall(reply)
                    self.stop.wait(then_wait)
                    if rest:
                        conn.sendall(rest)

        threading.Thread(target=serve, daemon=True).start()

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("reply", [
    # a stalled server held Cancel (and closing the window) for the whole 30 s timeout
    b"HTTP/1.0 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 10,
    # a chunked reply cut by Cancel raised IncompleteRead, reported as "the download was
    # interrupted ... try again" instead of stopping quietly
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1000\r\nxx"])
def test_cancel_acts_while_the_server_sends_nothing(monkeypatch, reply):
    server = _RawServer(reply, then_wait=60)
    monkeypatch.setenv("FTS_WEIGHTS_BASE_URL", server.url)
    token = CancelToken()

    def listener(event):
        if isinstance(event, Progress) and event.done > 0:
            threading.Timer(0.3, token.cancel).start()  # Cancel pressed while it waits

    try:
        with pytest.raises(Cancelled):
            ensure_imagenet_weights(get_backbone("ResNet50"), listener=listener, cancel=token,
                                    timeout=30)
    finally:
        server.close()
    assert _cache_files() == []


def test_cancel_acts_before_the_server_has_answered(monkeypatch):
    """A server (or a proxy, a firewall dropping packets) that takes the connection and never
    answers: Cancel waited for the whole timeout, then said "timed out"; closing the window
    froze it and could abort the app (a weights review)."""
    server = _RawServer(b"", then_wait=60)
    monkeypatch.setenv("FTS_WEIGHTS_BASE_URL", server.url)
    token = CancelToken()
    threading.Timer(0.5, token.cancel).start()  # Cancel pressed while it connects
    try:
        with pytest.raises(Cancelled):
            ensure_imagenet_weights(get_backbone("ResNet50"), cancel=token, timeout=30)
    finally:
        server.close()
    assert _cache_files() == []


@pytest.mark.parametrize("reply, words", [
    (b"SSH-2.0-OpenSSH_9.2\r\n", "interrupted"),  # a mirror on a port that is no web server
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\nabc", "interrupted"),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 99x\r\n\r\n" + b"x" * 100, "damaged"),
])
def test_replies_that_are_not_whole_http_are_weights_errors(monkeypatch, reply, words):
    """These ended as 'error: BadStatusLine / IncompleteRead / ValueError' with exit 1."""
    server = _RawServer(reply)
    monkeypatch.setenv("FTS_WEIGHTS_BASE_URL", server.url)
    try:
        with pytest.raises(WeightsError, match=words):
            ensure_imagenet_weights(get_backbone("ResNet50"), timeout=5)
    finally:
        server.close()
    assert _cache_files() == []


def test_a_wrong_file_in_the_imagenet_cache_is_named(tmp_path):
    """A MobileNetV2 file of another width copied into the cache (it has no checksum to
    catch it) ended as 'error: ValueError: Shape mismatch in layer #0' with exit 1."""
    import keras

    from core.model.build import build_backbone

    other = keras.applications.MobileNetV2(include_top=False, weights=None, alpha=0.35,
                                           input_shape=(32, 32, 3))
    legacy = tmp_path / "legacy.h5"  # the format of Keras' ImageNet files
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(legacy, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, other)
    with pytest.raises(WeightsError, match="legacy.h5 cannot be loaded into MobileNetV2.*"
                                           "replace or delete that file"):
        build_backbone(get_backbone("MobileNetV2"), 32, str(legacy))


def test_a_file_with_the_other_formats_name_a_cut_short_file_and_a_model_say_what_to_do(
        tmp_path):
    """The messages blamed the content ("no 'layers' group", "was it saved by Keras?") when
    only the name was wrong, and a truncated copy gave h5py's own words."""
    import zipfile

    spec, source = get_backbone("MobileNetV2"), _mobilenet_v2()
    legacy = _save_legacy_h5(source, tmp_path / "legacy.weights.h5")
    with pytest.raises(WeightsError, match="rename it to end in .h5, not .weights.h5"):
        check_weights_file(legacy, spec, 32)
    modern = tmp_path / "modern.weights.h5"
    source.save_weights(str(modern))
    renamed = tmp_path / "modern.h5"
    os.replace(modern, renamed)
    with pytest.raises(WeightsError) as err:
        check_weights_file(renamed, spec, 32)
    assert str(err.value) == (
        f"{renamed} holds MobileNetV2's weights in Keras 3's .weights.h5 layout, which Keras "
        "reads only from a file whose name ends in .weights.h5: rename it to "
        "modern.weights.h5 and choose that file")  # not "another model's weights" (a review)
    whole = _save_legacy_h5(source, tmp_path / "whole.h5")
    cut = tmp_path / "cut.h5"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    with pytest.raises(WeightsError, match="cut.h5 is incomplete .*copy it again"):
        check_weights_file(cut, spec, 32)
    model = tmp_path / "classifier.h5"
    with zipfile.ZipFile(model, "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(WeightsError, match="a whole Keras model"):
        check_weights_file(model, spec, 32)


def test_a_damaged_legacy_file_naming_a_missing_layer_is_named(tmp_path):
    """It read 'Something went wrong: KeyError: Unable to synchronously open object', no file."""
    import h5py

    path = tmp_path / "damaged.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"missing_layer"]
    with pytest.raises(WeightsError, match="damaged.h5 is damaged or was not saved by Keras"):
        check_weights_file(path, get_backbone("MobileNetV2"), 32)


def test_a_server_that_pauses_mid_file_is_waited_for(monkeypatch):
    """Any pause of over half a second killed the download: each read waited 0.5 s, and
    Python refuses every read of a socket after one timed out ("cannot read from timed
    out object"), reported as "cannot save ... to the cache"."""
    body = os.urandom(600_000)
    head = f"HTTP/1.0 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    server = _RawServer(head + body[:300_000], then_wait=1.2, rest=body[300_000:])
    monkeypatch.setenv("FTS_WEIGHTS_BASE_URL", server.url)
    spec = dataclasses.replace(get_backbone("ResNet50"),
                               weights_hash=hashlib.sha256(body).hexdigest())
    try:
        path = ensure_imagenet_weights(spec, timeout=30)
    finally:
        server.close()
    assert path.read_bytes() == body


def test_a_certificate_or_redirect_problem_is_not_called_offline(tmp_path):
    """An untrusted certificate (a company proxy, macOS Python without certificates) read
    "this machine seems to be offline"; a redirect loop's message kept raw line breaks (a
    weights review)."""
    import ssl
    import urllib.error

    from core.model.imagenet_download import _offline_message

    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cert.verify_message = "self-signed certificate in certificate chain"
    said = _offline_message("ImageNet weights", "https://x/w.h5", tmp_path / "w.h5",
                            urllib.error.URLError(cert))
    assert "certificate could not be checked (self-signed certificate" in said
    assert "SSL_CERT_FILE" in said and "offline" not in said
    loop = urllib.error.HTTPError("https://x/w.h5", 302, "The HTTP server returned a redirect "
                                  "error that would lead to an infinite loop.\nThe last 30x "
                                  "error message was:\nFound", None, None)
    said = _offline_message("ImageNet weights", "https://x/w.h5", tmp_path / "w.h5", loop)
    assert "\n" not in said and "HTTP 302 The HTTP server returned a redirect" in said


def test_a_reply_far_bigger_than_any_weights_file_is_refused(monkeypatch):
    """A server announcing 10 TB was read until it closed; an endless one would fill the
    disk (a weights review)."""
    server = _RawServer(b"HTTP/1.0 200 OK\r\nContent-Length: 10000000000000\r\n\r\nxx")
    monkeypatch.setenv("FTS_WEIGHTS_BASE_URL", server.url)
    try:
        with pytest.raises(WeightsError, match="announces 10,000.0 GB, far more than any") \
                as info:
            ensure_imagenet_weights(get_backbone("ResNet50"), timeout=5)
        assert "interrupted" not in str(info.value) and "FTS_WEIGHTS_BASE_URL" in str(info.value)
    finally:
        server.close()
    assert _cache_files() == []


def test_a_weights_path_that_is_no_file_is_said_to_be_what_it_is(tmp_path):
    """`--weights /dev/zero` was "not found", and `audit --weights FOLDER` called the folder
    "not found" where `train` called it a folder (a weights review)."""
    from core.features.extract import FeatureModel
    from core.features.store import FeatureStore
    from core.model.weights import weights_file_there

    with pytest.raises(WeightsError, match="/dev/zero is not a regular file"):
        weights_file_there("/dev/zero")
    with pytest.raises(WeightsError, match="not found"):
        weights_file_there(tmp_path / "gone.weights.h5")
    with pytest.raises(WeightsError, match="is a folder, not a weights file"):
        FeatureStore(tmp_path / "store").model_id(FeatureModel(weights=str(tmp_path)))


def test_a_keras_cache_that_cannot_be_written_names_keras_home(mirror, monkeypatch):
    """"permission denied; make the folder writable, or choose another folder": the app has
    no such choice; KERAS_HOME is it (a weights review)."""
    import contextlib
    import errno

    import core.model.imagenet_download as download
    from core.write_errors import cannot_write

    @contextlib.contextmanager
    def refused(target):
        raise cannot_write(target, PermissionError(errno.EACCES, "Permission denied"))
        yield  # pragma: no cover

    monkeypatch.setattr(download, "atomic_file", refused)
    with pytest.raises(WeightsError, match="set KERAS_HOME to a writable folder") as info:
        ensure_imagenet_weights(get_backbone("ResNet50"), timeout=5)
    assert "permission denied" in str(info.value)


def test_a_weights_file_holding_nan_is_refused_naming_the_file_and_layer(tmp_path):
    """It passed ("The file fits this backbone."); training then grouped images by NaN
    features and stopped in scikit-learn's words about imputers (a review)."""
    import numpy as np

    source = _mobilenet_v2(size=32)
    layer = source.get_layer("Conv1")
    kernel, *rest = layer.get_weights()
    layer.set_weights([np.full_like(kernel, np.nan), *rest])
    path = tmp_path / "diverged.weights.h5"
    source.save_weights(str(path))
    with pytest.raises(WeightsError) as err:
        check_weights_file(path, get_backbone("MobileNetV2"), 32)
    text = str(err.value)
    assert str(path) in text and "NaN or infinite" in text and "Conv1" in text


def test_an_h5_of_weights_only_says_what_it_holds_wherever_it_is_given(tmp_path, capsys):
    """A plain .h5 written by save_weights (tf.keras 2's layout, or Keras 3's renamed) given as
    a model showed Keras' "No model config found" (a review); given as the backbone's
    weights, Keras 3's layout under .h5 was called another model's weights."""
    import keras

    from core.cli import main
    from core.errors import ModelFileError
    from core.model.model_files import load_model_file

    classifier = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3),
                                   keras.layers.GlobalAveragePooling2D(),
                                   keras.layers.Dense(2, activation="softmax")])
    legacy = _save_legacy_h5(classifier, tmp_path / "tiny.h5")
    images = tmp_path / "images"
    images.mkdir()
    from PIL import Image

    Image.new("RGB", (8, 8), (90, 20, 200)).save(images / "one.png")
    classifier.save_weights(str(tmp_path / "k3.weights.h5"))
    renamed = tmp_path / "k3.h5"
    os.replace(tmp_path / "k3.weights.h5", renamed)
    for path, layout, then in (
            (legacy, "tf.keras 2's save_weights layout", "choose it as the weights file"),
            (renamed, "Keras 3's .weights.h5 layout", "rename it to k3.weights.h5 (Keras 3 "
             "reads this layout only under that name), then choose it as the weights file")):
        with pytest.raises(ModelFileError) as err:
            load_model_file(path)
        said = str(err.value)
        assert said.startswith(f"{path} holds a network's weights only ({layout}, no model "
                               "config), not a model that can answer or be inspected: give a "
                               "run folder or a whole model file (.keras, or an .h5 saved "
                               "with model.save). To train from these weights, " + then)
        for command in (["inspect-model", str(path)], ["predict", str(path), str(images)]):
            assert main(command) == 2
            err_text = capsys.readouterr().err
            assert f"{path}" in err_text and "No model config" not in err_text
            assert f"it holds a network's weights only ({layout}, no model config): to train "\
                   f"from these weights, {then}" in err_text, command
    whole = tmp_path / "whole.h5"  # a whole model in .h5 still opens
    classifier.save(str(whole))
    assert load_model_file(whole).count_params() == classifier.count_params()
    # As the backbone's weights, the advice works: renamed as told, the file is taken
    spec, source = get_backbone("MobileNetV2"), _mobilenet_v2()
    legacy_backbone = _save_legacy_h5(source, tmp_path / "backbone.h5")
    assert check_weights_file(legacy_backbone, spec, 32) == legacy_backbone  # loaded, as is
    source.save_weights(str(tmp_path / "backbone3.weights.h5"))
    os.replace(tmp_path / "backbone3.weights.h5", tmp_path / "backbone3.h5")
    with pytest.raises(WeightsError, match="rename it to backbone3.weights.h5"):
        check_weights_file(tmp_path / "backbone3.h5", spec, 32)
    os.replace(tmp_path / "backbone3.h5", tmp_path / "backbone3.weights.h5")
    assert check_weights_file(tmp_path / "backbone3.weights.h5", spec, 32)
    import h5py

    with h5py.File(tmp_path / "junk.h5", "w") as f:  # HDF5, but no Keras weights at all
        f["numbers"] = [1, 2, 3]
    with pytest.raises(WeightsError) as err:
        check_weights_file(tmp_path / "junk.h5", spec, 32)
    assert "holds no Keras weights" in str(err.value) and "another model" not in str(err.value)
    with pytest.raises(ModelFileError, match="an HDF5 file with no model in it"):
        load_model_file(tmp_path / "junk.h5")


def test_one_function_tells_the_weights_layouts_of_an_open_file_apart(tmp_path):
    """weights_layout (a path) and check_weights_file's legacy comparison (an open file) tell
    tf.keras 2's layout from Keras 3's by one function, open_layout."""
    import h5py

    from core.model.weights_only import (KERAS3, LEGACY, UNKNOWN, legacy_group, open_layout,
                                         weights_layout)

    def made(name, fill):
        with h5py.File(tmp_path / name, "w") as f:
            fill(f)
        return tmp_path / name

    files = {
        "save_weights.h5": (lambda f: f.attrs.update(layer_names=[b"dense"]), LEGACY, LEGACY),
        "whole.h5": (lambda f: (f.attrs.update(model_config="{}"),
                                f.create_group("model_weights").attrs.update(
                                    layer_names=[b"dense"])), LEGACY, ""),
        "k3.h5": (lambda f: f.create_group("layers"), KERAS3, KERAS3),
        "other.h5": (lambda f: f.create_dataset("x", data=[1]), UNKNOWN, UNKNOWN),
        "bare_model_weights.h5": (lambda f: f.create_group("model_weights"), UNKNOWN, UNKNOWN),
    }
    for name, (fill, layout, by_path) in files.items():
        path = made(name, fill)
        with h5py.File(path, "r") as f:
            assert open_layout(f) == layout, name
            group = legacy_group(f)
            assert group.name == ("/model_weights" if "model_weights" in f else "/"), name
        assert weights_layout(path) == by_path, name


def test_a_damaged_weights_file_is_called_damaged_not_unreadable(tiny_weights, tmp_path):
    """A readable .weights.h5 whose header was zeroed was "cannot read the weights file (the
    file cannot be opened); make it readable", which sent a user to its permissions (a review)."""
    data = open(tiny_weights, "rb").read()
    damaged = tmp_path / "damaged.weights.h5"
    damaged.write_bytes(data[:8] + bytes(4000) + data[4008:])  # the HDF5 signature kept
    with pytest.raises(WeightsError) as err:
        check_weights_file(damaged, get_backbone("MobileNetV3Small"), 32)
    said = str(err.value)
    assert said.startswith(f"{damaged} is damaged: HDF5 cannot open it (")
    assert said.endswith("copy it again or choose another file") and "readable" not in said


def test_a_download_that_is_not_the_file_says_the_ways_out_besides_trying_again(mirror):
    """A checksum that does not match, or a page that is not HDF5, said only "try again": a
    proxy or sign-in page answering every time made that a loop (a weights review)."""
    root, _ = mirror
    spec = _publish(root, get_backbone("EfficientNetB0"), b"<html>sign in</html>")
    spec = dataclasses.replace(spec, weights_hash="0" * 32)
    with pytest.raises(WeightsError) as err:
        ensure_imagenet_weights(spec)
    plain = get_backbone("MobileNetV2")
    rel = plain.imagenet_file(128)[1].split("keras-applications/", 1)[1]
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text("<html>sign in</html>")
    with pytest.raises(WeightsError) as page:
        ensure_imagenet_weights(plain, image_size=128)
    for message, words in ((str(err.value), "checksum"), (str(page.value), "not a whole HDF5")):
        assert words in message and "Try again, or" in message
        assert "--weights FILE" in message and "--weights none" in message
        assert str(keras_cache_dir()) in message and "Address: http://127.0.0.1" in message
    assert _cache_files() == []


@pytest.mark.parametrize("base", ["127.0.0.1:8000/mirror", "mirror.example/keras"])
def test_a_mirror_address_without_http_is_said_to_need_it_not_called_offline(monkeypatch,
                                                                             base):
    """With a port, urllib reads the host as the scheme and raises URLError, which was
    "this machine seems to be offline, or a proxy refuses it" (a weights review)."""
    monkeypatch.setenv("FTS_WEIGHTS_BASE_URL", base)
    with pytest.raises(WeightsError) as err:
        ensure_imagenet_weights(get_backbone("MobileNetV2"), image_size=128)
    message = str(err.value)
    assert "offline" not in message and "must start with http:// or https://" in message
    assert "FTS_WEIGHTS_BASE_URL" in message and _cache_files() == []


def test_a_full_disk_during_a_download_names_the_file_once_and_keras_home(mirror, monkeypatch):
    """The path came twice ("cannot save … to P: P: the disk is full …") and "the previous
    version, if any, is unchanged", with no word of KERAS_HOME (a weights review)."""
    import errno

    from core.model import imagenet_download

    def full(url, dest, *args):
        Path(dest).write_bytes(b"\x89HDF\r\n\x1a\n" + b"x" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(imagenet_download, "_download", full)
    spec = get_backbone("MobileNetV2")
    with pytest.raises(WeightsError) as err:
        ensure_imagenet_weights(spec, image_size=128)
    message, target = str(err.value), str(imagenet_weights_path(spec, 128))
    assert message.count(target) == 1 and "the disk is full" in message
    assert "KERAS_HOME" in message and "previous version" not in message
    assert _cache_files() == []


def test_an_empty_weights_file_is_said_to_be_empty(tmp_path):
    """A 0-byte file (a failed copy) was "not a Keras weights file (not HDF5)" (a review)."""
    empty = tmp_path / "backbone.weights.h5"
    empty.write_bytes(b"")
    with pytest.raises(WeightsError) as err:
        check_weights_file(empty, get_backbone("MobileNetV2"), 32)
    assert str(empty) in str(err.value) and "is empty (0 bytes)" in str(err.value)
    assert "copy it again" in str(err.value)


def test_what_a_killed_download_left_goes_even_once_the_file_is_there(mirror):
    """kill -9 during a download, then a retry within the hour that succeeded: the killed
    one's hidden temporary stayed for good, as later calls found the file cached (a review)."""
    import time

    root, server = mirror
    spec = _publish(root, get_backbone("MobileNetV3Small"), os.urandom(1000))
    ensure_imagenet_weights(spec)
    target = keras_cache_dir() / spec.weights_file
    stale = target.parent / f".{target.stem}.abc123.tmp{target.suffix}"
    stale.write_bytes(b"cut off")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    assert ensure_imagenet_weights(spec) == target
    assert not stale.exists() and server.requests == 1
