"""The prediction server: a real uvicorn server on 127.0.0.1, a real HTTP client (urllib)."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _call(url: str, body=None, token: str | None = None, raw: bytes | None = None):
    """(status, JSON answer) of a GET (no body) or a POST."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def served(trained_run):
    """The trained run served on a free port, with its predictor for reference answers."""
    from core.infer.loaders import load_predictor
    from core.serve.server import RunningServer, ServeOptions

    predictor = load_predictor(trained_run)
    server = RunningServer(predictor, ServeOptions(port=0, name="bd")).start()
    yield server, predictor
    server.stop()
    assert not server.running


def _an_image(trained_run) -> Path:
    return sorted((trained_run.parent / "data").rglob("*.png"))[0]  # the fixture's data folder


def test_status_and_metadata(served):
    server, predictor = served
    status, answer = _call(server.model_url)
    assert status == 200
    assert answer == {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                                "status": {"error_code": "OK",
                                                           "error_message": ""}}]}
    status, meta = _call(server.model_url + "/metadata")
    assert status == 200 and meta["model_spec"]["name"] == "bd"
    assert meta["metadata"]["labels"] == predictor.classes
    sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    dims = [d["size"] for d in sig["inputs"]["image"]["tensor_shape"]["dim"]]
    assert dims == ["-1", str(predictor.image_size), str(predictor.image_size), "3"]
    assert _call(server.url + "/v1/models/bd/versions/1")[0] == 200
    # TensorFlow Serving's version labels: a 404 that says there are none (was "no such route")
    status, answer = _call(server.url + "/v1/models/bd/labels/stable/metadata")
    assert status == 404 and answer["error"].startswith(
        "Unrecognized servable version label: stable; this server has no version labels: "
        "use /v1/models/bd/metadata"), answer


def test_predict_b64_and_array_agree_with_predictor(served, trained_run):
    from core.data.imageio import load_rgb

    server, predictor = served
    image = _an_image(trained_run)
    pixels = load_rgb(image, predictor.image_size)
    expected = predictor.predict_arrays(pixels[None].astype(np.float32))[0]
    b64 = base64.b64encode(image.read_bytes()).decode()
    status, answer = _call(server.model_url + ":predict",
                           {"instances": [{"b64": b64}, pixels.tolist(),  # and the row format
                                          {"image": {"b64": b64}},  # naming the input, as TF
                                          {"image": pixels.tolist()}]})  # Serving takes it
    assert status == 200, answer
    for row in answer["predictions"]:
        np.testing.assert_allclose(row["probabilities"], expected, atol=1e-5)
        assert row["label"] == predictor.classes[int(np.argmax(expected))]
    # any size is resized like the app does: a bigger copy still gives the same class
    big = np.kron(pixels, np.ones((3, 2, 1), np.uint8))
    status, answer = _call(server.model_url + ":predict", {"instances": [big.tolist()]})
    assert status == 200 and answer["predictions"][0]["label"] == row["label"]


def test_requests_written_for_tensorflow_serving_move_here_unchanged(served, trained_run):
    """(a serve review) The columnar "inputs" format, the SavedModel export's other
    signature (serving_uint8), a gzip-compressed body and the version written "01" are
    TensorFlow Serving's, and were refused here."""
    import gzip

    server, predictor = served
    image = _an_image(trained_run)
    b64 = base64.b64encode(image.read_bytes()).decode()
    status, rows = _call(server.model_url + ":predict", {"instances": [{"b64": b64}] * 2})
    assert status == 200
    expected = {key: [r[key] for r in rows["predictions"]] for key in rows["predictions"][0]}
    assert {"probabilities", "label"} <= set(expected)
    for inputs in ([{"b64": b64}] * 2, {"image": [{"b64": b64}] * 2}):
        status, answer = _call(server.model_url + ":predict", {"inputs": inputs})
        assert status == 200 and set(answer) == {"outputs"}, answer
        assert answer["outputs"] == expected
    status, answer = _call(server.model_url + ":predict", {"signature_name": "serving_uint8",
                                                           "instances": [{"b64": b64}]})
    assert status == 200 and answer["predictions"][0]["label"] == expected["label"][0]
    meta = _call(server.model_url + "/metadata")[1]["metadata"]["signature_def"]
    assert meta["signature_def"]["serving_uint8"]["inputs"]["image"]["dtype"] == "DT_UINT8"
    assert _call(server.url + "/v1/models/bd/versions/01")[0] == 200

    def gz(body: bytes, encoding="gzip"):
        req = urllib.request.Request(server.model_url + ":predict", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Content-Encoding": encoding})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    body = json.dumps({"instances": [{"b64": b64}]}).encode()
    status, answer = gz(gzip.compress(body))
    assert status == 200 and answer["predictions"][0]["label"] == expected["label"][0]
    status, answer = gz(gzip.compress(b" " * (33 * 1024 * 1024) + body))  # 33 MB unpacked
    assert status == 413 and "over the limit" in answer["error"]
    status, answer = gz(body)  # says gzip, is not
    assert status == 400 and "not gzip data" in answer["error"]
    status, answer = gz(body, "br")
    assert status == 415 and "'br' is not accepted" in answer["error"]
    assert _call(server.model_url)[0] == 200  # still serving


def test_concurrent_requests_are_batched(served, trained_run):
    from core.data.imageio import load_rgb

    server, predictor = served
    pixels = load_rgb(_an_image(trained_run), predictor.image_size).tolist()
    before = server.batcher.batches
    results = []

    def client():
        results.append(_call(server.model_url + ":predict", {"instances": [pixels]}))

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [200] * 16
    assert server.batcher.batches - before <= 16  # never more calls than requests


@pytest.mark.parametrize("raw, expect", [
    (b"{not json", "not valid JSON at line 1, column 2: a name is not in double quotes"),
    # Python's own "Expecting ',' delimiter: line 1 column 19 (char 18)" before:
    (b'{"instances": [{"b64": "x"} {"b64": "y"}]}', "at line 1, column 29: a comma, or a "
                                                     "closing ] or }, is missing"),
    (b'{"instances": ["\xff"]}', "not UTF-8 text"),
    # (a serve review) the file itself, or a form upload, was "not UTF-8 text":
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\xff", "the body is a JPEG file, not JSON"),
    (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
     b"\x89PNG\r\n\x1a\n\x00\xff", "a form upload"),
    (b'{"inputs": []}', "\"inputs\" must be a non-empty list"),
    (b'{"instances": []}', "non-empty"),
    (json.dumps({"instances": [{"b64": base64.b64encode(b"hello, not an image").decode()}]})
     .encode(), "not an image"),
    (b'{"instances": [{"b64": "***"}]}', "base64"),
    (b'{"instances": [[[1, 2], [3, 4]]]}', "H x W x 3"),
    (b'{"instances": [[[[1, 2, 300]]]]}', "0 to 255"),
    (json.dumps({"instances": [[[[0, 0, 0]]]] * 65}).encode(), "limit is 64"),
    # These were 500s with an ERROR traceback in the log:
    (b'{"instances":' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
    (b'{"instances": [[[[' + b"9" * 400 + b', 1, 2]]]]}', "array of numbers"),
    # ... and these were taken as pixels:
    (b'{"instances": [[[["1", "2", "3"]]]]}', "array of numbers"),
    (b'{"instances": [[[[true, false, true]]]]}', "array of numbers"),
    (b'{"inputs": {"images": [[[[1, 2, 3]]]]}}', "columnar"),
    # (a serve review) both forms were answered from "instances"; 10**30 was "not a
    # rectangular array"; a data URL was "not valid base64":
    (b'{"instances": [[[[1, 2, 3]]]], "inputs": [[[[1, 2, 3]]]]}', "both"),
    (b'{"instances": [[[[1, 2, 1000000000000000000000000000000]]]]}', "from 0 to 255"),
    (b'{"instances": [{"b64": "data:image/png;base64,iVBORw0KGgo="}]}',
     "send only what follows the comma"),
    # another signature was answered by this one:
    (b'{"signature_name": "serving_float16", "instances": [[[[1, 2, 3]]]]}', "not found"),
    # (a serve review) pixels scaled to 0..1 were answered, every one wrongly:
    (b'{"instances": [[[[0.1, 0.5, 1.0], [0.0, 0.25, 0.75]]]]}', "multiply by 255"),
])
def test_bad_input_is_a_clear_400(served, raw, expect):
    server, _ = served
    status, answer = _call(server.model_url + ":predict", raw=raw)
    assert status == 400 and expect in answer["error"], answer
    assert _call(server.model_url)[0] == 200  # still serving


def test_the_served_signature_may_be_named(served):
    server, _ = served
    for name in ("serving_default", ""):  # "": the default, as TensorFlow Serving reads it
        status, answer = _call(server.model_url + ":predict", {
            "signature_name": name, "instances": [[[[0, 0, 0]]]]})
        assert status == 200 and len(answer["predictions"]) == 1


def test_body_over_the_limit_and_wrong_names(served):
    server, _ = served
    status, answer = _call(server.model_url + ":predict", raw=b" " * (33 * 1024 * 1024))
    assert status == 413 and "limit" in answer["error"]
    status, answer = _call(server.url + "/v1/models/other")
    assert status == 404 and "bd" in answer["error"]
    assert _call(server.url + "/v1/models/other:predict", {"instances": [[[[0, 0, 0]]]]})[0] == 404
    assert _call(server.url + "/nothing/here")[0] == 404
    assert _call(server.model_url + ":predict")[0] == 405  # a GET on a POST route
    # Another method is a 405 that says what to use (it was a 404 "no such route"), and
    # /v1/models a JSON 404 (it was a bare 307 redirect to /v1/models/).
    req = urllib.request.Request(server.model_url, method="PUT", data=b"{}")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(req, timeout=60)
    assert caught.value.code == 405 and "POST" in json.loads(caught.value.read())["error"]
    status, answer = _call(server.url + "/v1/models")
    assert status == 404 and "/v1/models/bd" in answer["error"]
    # HEAD on a status route (monitors, link checkers) is a 200 without a body; it was a 405
    head = urllib.request.Request(server.model_url, method="HEAD")
    with urllib.request.urlopen(head, timeout=60) as reply:
        assert reply.status == 200 and reply.read() == b""


@pytest.mark.parametrize("name", [".", ".."])
def test_a_name_of_dots_alone_is_refused(trained_run, name):
    """Clients drop "." and ".." from a URL, so the printed status URL could not be reached."""
    from core.errors import UserError
    from core.infer.loaders import load_predictor
    from core.serve.server import RunningServer, ServeOptions

    with pytest.raises(UserError, match="not dots alone"):
        RunningServer(load_predictor(trained_run), ServeOptions(port=0, name=name))


def test_line_wrapped_base64_is_accepted(served, trained_run):
    """``base64 image.png`` without -w0 wraps its output at 76 columns (as MIME does)."""
    server, _ = served
    data = _an_image(trained_run).read_bytes()
    one_line = _call(server.model_url + ":predict",
                     {"instances": [{"b64": base64.b64encode(data).decode()}]})
    wrapped = _call(server.model_url + ":predict",
                    {"instances": [{"b64": base64.encodebytes(data).decode()}]})
    assert one_line[0] == wrapped[0] == 200 and one_line[1] == wrapped[1]


def test_token_is_required_on_every_request(trained_run):
    from core.infer.loaders import load_predictor
    from core.serve.server import RunningServer, ServeOptions

    server = RunningServer(load_predictor(trained_run),
                           ServeOptions(port=0, token="s3cret")).start()
    try:
        assert _call(server.model_url)[0] == 401
        assert _call(server.model_url, token="wrong")[0] == 401
        assert _call(server.model_url + ":predict", {"instances": []})[0] == 401
        assert _call(server.model_url, token="s3cret")[0] == 200
        assert "Bearer s3cret" in server.curl_example()
        for header, status in (("bearer s3cret", 200), ("BEARER  s3cret", 200),
                               ("Basic s3cret", 401), ("s3cret", 401)):
            req = urllib.request.Request(server.model_url)
            req.add_header("Authorization", header)
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    got = resp.status
            except urllib.error.HTTPError as exc:
                got = exc.code
            assert got == status, header  # the scheme is case-insensitive (RFC 7235)
        where = urllib.parse.urlsplit(server.model_url)
        with socket.create_connection((where.hostname, where.port), timeout=60) as conn:
            path = where.path
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                         "Authorization: Bearer s3cret\r\nConnection: close\r\n\r\n".encode())
            assert conn.recv(64).startswith(b"HTTP/1.1 401")  # two headers: neither wins
    finally:
        server.stop()


def test_other_host_without_token_is_refused(trained_run):
    from core.errors import UserError
    from core.serve.server import check_exposure

    with pytest.raises(UserError, match="--token"):
        check_exposure("0.0.0.0", None)
    check_exposure("127.0.0.1", None)
    check_exposure("::1", None)
    check_exposure("0.0.0.0", "t")
    for unusable in (" abc ", "a\nb", "t\u00e9"):  # no client could send it in a header
        with pytest.raises(UserError, match="--token"):
            check_exposure("127.0.0.1", unusable)
    proc = subprocess.run([sys.executable, "main.py", "serve", str(trained_run), "--host",
                           "0.0.0.0", "--port", "0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and "--token" in proc.stderr


def test_the_token_may_come_from_the_environment_and_stays_out_of_sight(trained_run):
    """--token is visible to every user of the machine (ps), and the curl line printed it."""
    import os

    env = dict(os.environ, FTS_SERVE_TOKEN="s3cret-env")
    proc = subprocess.Popen([sys.executable, "main.py", "serve", str(trained_run), "--port",
                             "0", "--name", "bd"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = proc.stdout.readline().rsplit(" at ", 1)[1].strip()
        tried = next(line for line in proc.stderr if line.startswith("try: "))
        assert '"Authorization: Bearer $FTS_SERVE_TOKEN"' in tried and "s3cret" not in tried
        assert _call(url)[0] == 401
        assert _call(url, token="s3cret-env")[0] == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=120)


def test_an_empty_token_variable_is_no_token(tmp_path, monkeypatch, capsys):
    """(a serve review) 'export FTS_SERVE_TOKEN=' left in a profile stopped a plain local
    serve with "--token is empty", though no --token was given: it counts as unset."""
    from core.cli import main

    monkeypatch.setenv("FTS_SERVE_TOKEN", " ")
    assert main(["serve", str(tmp_path / "no-model"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "no-model: no such file" in err and "--token" not in err  # past the token check
    assert main(["serve", str(tmp_path / "no-model"), "--port", "0", "--host", "0.0.0.0"]) == 2
    assert "give a --token" in capsys.readouterr().err  # beyond this machine: still needed


def test_a_runs_weights_given_as_the_model_names_the_run_to_give(trained_run, capsys):
    """(a serve review) serve RUN/best.weights.npz said "use it ... train --weights", which
    refuses that file: the run folder is what to give."""
    from core.cli import main

    weights = trained_run / "best.weights.npz"
    assert main(["serve", str(weights), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"give the run folder {trained_run} instead" in err and "--weights" not in err


def test_a_bad_name_is_refused_before_the_model_loads_and_a_bracketed_host_binds(tmp_path):
    """--name a/b was refused only after the model had loaded (seconds; longer for a run),
    and --host [::1] passed the loopback check, then failed: "Name or service not known"."""
    from core.serve.server import open_socket

    proc = subprocess.run([sys.executable, "main.py", "serve", str(tmp_path / "no-model"),
                           "--name", "a/b", "--port", "0"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and "--name 'a/b'" in proc.stderr
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    sock = open_socket("[::1]", 0)
    assert sock.getsockname()[0] == "::1"
    sock.close()


def test_port_in_use_is_a_user_error(served):
    from core.errors import UserError
    from core.serve.server import open_socket

    port = int(served[0].url.rsplit(":", 1)[1])
    with pytest.raises(UserError, match="choose another port"):
        open_socket("127.0.0.1", port)


def test_an_address_of_another_machine_is_named_not_the_port():
    """(a serve review) --host 10.255.255.1 --port 0 was told "another server may use that
    port: choose another port"; the address is the mistake.  192.0.2.1 is for
    documentation: no machine has it."""
    from core.errors import UserError
    from core.serve.server import open_socket

    with pytest.raises(UserError) as refused:
        open_socket("192.0.2.1", 0)
    assert "not an address of this machine" in str(refused.value)
    assert "port" not in str(refused.value)


def test_dark_pixels_of_whole_numbers_are_still_pixels():
    from core.serve.instances import pixels_to_array

    arr = pixels_to_array([[[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]], 2, 0)  # nearly black, 0..255
    assert arr.shape == (2, 2, 3) and arr.max() <= 1.0


def test_batcher_survives_a_failing_batch():
    from core.serve.batching import Batcher

    calls = []

    def predict(x):
        calls.append(len(x))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return x.reshape(len(x), -1)[:, :2]

    b = Batcher(predict, wait_ms=0)
    try:
        with pytest.raises(RuntimeError):
            b.submit(np.zeros((1, 2, 2, 3))).result(10)
        assert b.submit(np.ones((2, 2, 2, 3))).result(10).shape == (2, 2)
    finally:
        b.close()


def test_unknown_flag_when_the_predictor_scores(trained_run):
    """A run calibrated for unknowns (score + threshold) answers "unknown" per image."""
    from core.infer.loaders import load_predictor
    from core.serve.server import RunningServer, ServeOptions

    predictor = load_predictor(trained_run)
    plain = predictor.predict_scored

    def scored(x):
        probs = plain(x)[0]
        return probs, 1.0 - probs.max(axis=1)  # a stand-in score: low confidence is unknown

    predictor.predict_scored = scored
    predictor.unknown_threshold = -1.0  # every score is above it
    server = RunningServer(predictor, ServeOptions(port=0)).start()
    try:
        status, answer = _call(server.model_url + ":predict",
                               {"instances": [[[[10, 200, 30]] * 4] * 4]})
        assert status == 200 and answer["predictions"][0]["unknown"] is True
        assert "unknown_score" in answer["predictions"][0]
        meta = _call(server.model_url + "/metadata")[1]
        outputs = meta["metadata"]["signature_def"]["signature_def"]["serving_default"][
            "outputs"]
        assert {"unknown", "unknown_score"} <= set(outputs)  # every answer carries both
    finally:
        server.stop()


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_cli_serves_until_ctrl_c(trained_run, stop):
    """``serve --port 0`` prints its URL, answers, and stops cleanly (status 0) on SIGINT,
    and on SIGTERM too (it was killed with status -15, without "stopped")."""
    import signal

    proc = subprocess.Popen([sys.executable, "main.py", "serve", str(trained_run), "--port", "0",
                             "--name", "cli"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the socket listens
        assert " at http://127.0.0.1:" in line, (line, proc.stderr.read() if proc.poll() else "")
        url = line.rsplit(" at ", 1)[1].strip()
        assert url.endswith("/v1/models/cli") and _call(url)[0] == 200
        proc.send_signal(getattr(signal, stop))
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "stopped" in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_decoding_stops_between_images_once_the_client_has_left():
    """A request may hold 64 huge images (minutes of decoding); when its client leaves, the
    server polls that and stops at the next image instead of decoding them all."""
    import threading

    from starlette.requests import ClientDisconnect

    from core.serve.app import _decode_all

    pixels = [[[[10, 20, 30]] * 4] * 4] * 3
    assert _decode_all(pixels, 4).shape == (3, 4, 4, 3)
    stop = threading.Event()
    stop.set()
    with pytest.raises(ClientDisconnect):
        _decode_all(pixels, 4, stop)


def _held_body(port: int, declared: int, sent: bytes) -> socket.socket:
    """A connection that declared ``declared`` body bytes and sent ``sent``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(f"POST /v1/models/bd:predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 f"application/json\r\nContent-Length: {declared}\r\n\r\n".encode() + sent)
    return sock


def _status_of(sock: socket.socket) -> tuple[int, str]:
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
        part = sock.recv(65536)
        if not part:
            break
        reply += part
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body).get("error", "")


def test_bodies_held_in_memory_are_bounded_and_a_stalled_body_times_out(trained_run,
                                                                        monkeypatch):
    """Clients that each declared 30 MB and sent all but a byte held a connection and 32 MB
    apiece for as long as they liked: memory grew by one body per client.  A request that
    finds the memory held waits for room (five 31 MB requests were all refused, though four
    fitted: a serve review)."""
    import core.serve.request_body as bodies
    from core.infer.loaders import load_predictor
    from core.serve.app import Limits
    from core.serve.server import RunningServer, ServeOptions

    monkeypatch.setattr(bodies, "BODY_SECONDS", 3.0)
    limit = 1000
    server = RunningServer(load_predictor(trained_run), ServeOptions(
        port=0, name="bd", limits=Limits(max_body_bytes=limit))).start()
    port = int(server.url.rsplit(":", 1)[1])
    body = json.dumps({"instances": [[[[0, 0, 0]]]]}).encode().ljust(limit)
    try:
        held = [_held_body(port, limit, body[:-1]) for _ in range(bodies.BODIES_HELD)]
        waiting = _held_body(port, limit, body)  # whole, but no room for it yet
        held[0].sendall(body[-1:])  # one held body ends: its answer gives its room back
        assert _status_of(held[0]) == (200, "")
        assert _status_of(waiting) == (200, "")
        status, message = _status_of(held[1])  # never finished: answered once its time is up
        assert status == 408 and "did not arrive within" in message
        # Connections that declare bodies and send none hold no room: four of them shut out
        # every other request (a review of the day's diff).
        idle = [_held_body(port, limit, b"") for _ in range(bodies.BODIES_HELD + 1)]
        assert _call(server.model_url + ":predict", {"instances": [[[[0, 0, 0]]]]})[0] == 200
        for sock in held + [waiting] + idle:
            sock.close()
        assert _call(server.model_url + ":predict", {"instances": [[[[0, 0, 0]]]]})[0] == 200
    finally:
        server.stop()


def test_a_request_waits_for_room_in_the_body_budget_and_a_chunked_one_does_not():
    import asyncio

    from core.serve.request_body import BodyBudget

    async def scenario():
        budget = BodyBudget(10)
        assert budget.take(8)
        waiter = asyncio.create_task(budget.reserve(5))
        await asyncio.sleep(0)
        assert not waiter.done() and not budget.take(5)  # a chunk finds no room: 503
        budget.give_back(8)
        await asyncio.wait_for(waiter, 5)
        assert budget.used == 5

    asyncio.run(scenario())


def test_connections_that_never_finish_their_headers_do_not_shut_out_clients(trained_run,
                                                                             monkeypatch):
    """256 connections that sent half a request's headers got every other client a plain-text
    503 for as long as they stayed open, with --token too (a serve review)."""
    import core.serve.protocol as protocol
    from core.infer.loaders import load_predictor
    from core.serve.server import RunningServer, ServeOptions

    monkeypatch.setattr(protocol, "MAX_CONNECTIONS", 3)
    monkeypatch.setattr(protocol, "HEADER_SECONDS", 1.0)
    server = RunningServer(load_predictor(trained_run), ServeOptions(
        port=0, name="bd", token="s3cret")).start()
    port = int(server.url.rsplit(":", 1)[1])
    try:
        half = []
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"GET /v1/models/bd HTTP/1.1\r\nHost: x\r\n")
            half.append(sock)
        one_more = socket.create_connection(("127.0.0.1", port), timeout=30)
        status, message = _status_of(one_more)
        assert status == 503 and "connections open" in message
        for sock in half:  # each answered and closed once its headers are late
            status, message = _status_of(sock)
            assert status == 408 and "headers did not arrive" in message
            sock.close()
        assert _call(server.model_url, token="s3cret")[0] == 200
    finally:
        server.stop()


def test_the_port_is_taken_exclusively_where_the_system_offers_it(monkeypatch):
    """On Windows SO_REUSEADDR lets a second server bind a port one already listens on (the
    two then share its requests): there the socket asks for SO_EXCLUSIVEADDRUSE instead."""
    from core.serve import server

    options: list[int] = []

    class Recorder(socket.socket):
        def setsockopt(self, level, option, value):  # noqa: D102 - records, then does nothing
            options.append(option)

    monkeypatch.setattr(server.socket, "socket", Recorder)
    monkeypatch.setattr(server.socket, "SO_EXCLUSIVEADDRUSE", -4, raising=False)  # Windows' value
    server.open_socket("127.0.0.1", 0).close()
    assert options == [-4]
    monkeypatch.delattr(server.socket, "SO_EXCLUSIVEADDRUSE")
    options.clear()
    server.open_socket("127.0.0.1", 0).close()
    assert options == [socket.SO_REUSEADDR]


@pytest.mark.skipif(not all(shutil.which(t) for t in ("bash", "curl", "base64", "tr")),
                    reason="needs a POSIX shell with curl")
def test_the_curl_example_works_as_pasted(served, trained_run, tmp_path):
    """It used base64 -w0, which macOS's base64 refuses; the pasted line must answer."""
    server, predictor = served
    shutil.copyfile(_an_image(trained_run), tmp_path / "image.jpg")
    command = server.curl_example()
    assert "-w0" not in command
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    answer = json.loads(done.stdout)
    assert answer["predictions"][0]["label"] in predictor.classes, done.stderr


def test_a_bad_image_in_a_request_is_not_told_to_remove_it(tmp_path):
    """The decoder's reasons end with advice for a file in a data folder ("... or remove
    it"), which a client sending an image cannot follow (a review): the server keeps the
    rest of the advice."""
    from PIL import Image

    from core.serve.instances import BadInstance, decode_b64_image, for_upload

    assert for_upload("not an image (...); remove it or convert it") == \
        "not an image (...); convert it"
    assert for_upload("TIFF of 1x1; convert it to PNG or JPEG, or remove it") == \
        "TIFF of 1x1; convert it to PNG or JPEG"
    assert for_upload("too big; resize it to a few thousand pixels per side or remove it") \
        == "too big; resize it to a few thousand pixels per side"
    cut = tmp_path / "cut.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(cut)
    for data in (b"hello, not an image", cut.read_bytes()[:60]):
        with pytest.raises(BadInstance) as err:
            decode_b64_image(base64.b64encode(data).decode(), 32, 0)
        assert "remove it" not in str(err.value) and "instance 0: " in str(err.value)


def test_unknown_switched_off_keeps_the_score_as_predict_does(trained_run):
    """With "Say unknown" off the answers lost unknown_score too, which predict's CSV and
    the exports keep (a review): only "unknown" goes."""
    from core.infer.loaders import load_predictor
    from core.serve.server import RunningServer, ServeOptions

    predictor = load_predictor(trained_run)
    assert predictor.has_unknown_score
    predictor.unknown_threshold = None  # switched off
    server = RunningServer(predictor, ServeOptions(port=0)).start()
    try:
        status, answer = _call(server.model_url + ":predict",
                               {"instances": [[[[10, 200, 30]] * 4] * 4]})
        assert status == 200 and "unknown" not in answer["predictions"][0]
        assert isinstance(answer["predictions"][0]["unknown_score"], float)
        meta = _call(server.model_url + "/metadata")[1]
        outputs = meta["metadata"]["signature_def"]["signature_def"]["serving_default"][
            "outputs"]
        assert "unknown_score" in outputs and "unknown" not in outputs
    finally:
        server.stop()
