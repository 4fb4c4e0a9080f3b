"""The ASGI app: TensorFlow Serving's REST routes over one :class:`Predictor`.

Routes (``NAME`` is the served model's name; ``/versions/1`` may be inserted
after it, as TF Serving allows; a version label, ``/labels/stable``, is a 404 that says
there are none)::

    GET  /v1/models/NAME            status (TF Serving's model_version_status)
    GET  /v1/models/NAME/metadata   signature, labels, input size
    POST /v1/models/NAME:predict    {"instances": [...]} -> {"predictions": [...]}
                                    {"inputs": [...]} -> {"outputs": {...}} (columnar)

A request may name either signature of the app's SavedModel export
(``serving_default``, ``serving_uint8``: pixels either way) and may come
gzip-compressed, as TensorFlow Serving allows, so a client written for it moves
here unchanged.

Each prediction is ``{"probabilities": [...], "label": "..."}`` (TF Serving's
row format for a signature with several named outputs), probabilities in
``labels.txt`` order, plus ``"unknown": true/false`` and ``"unknown_score"`` when
the run is calibrated for it (:meth:`Predictor.predict_scored` gives a score and
the predictor has an ``unknown_threshold``; the score alone when it has none: switched off).  Bad input is answered with a 4xx and ``{"error": "..."}`` saying what to
send; the server itself never stops on a request.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.data.image_open import format_by_signature
from core.serve.batching import Batcher
from core.serve.request_body import (BODIES_HELD, BodyBudget, HttpError, received_body,
                                     uncompressed)
from core.serve.instances import INPUT_NAME, BadInstance, instance_to_array
from core.typed_json import json_mistake

log = logging.getLogger("finetune_studio.serve")

MODEL_VERSION = "1"
#: The signature served (TensorFlow Serving's default name) ...
SIGNATURE = "serving_default"
#: ... and the SavedModel export's other one, for uint8 pixels: the same answers for the
#: same pixels, so a client written for TF Serving with that export moves here unchanged.
SIGNATURES = (SIGNATURE, "serving_uint8")
_PATH = re.compile(r"^(?P<name>[^/:]+)"
                   r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
                   r"(?P<tail>/metadata|:[A-Za-z]+)?$")


@dataclass(frozen=True)
class Limits:
    """What one request may ask: bigger ones get a clear 4xx, not an out-of-memory."""

    max_body_bytes: int = 32 * 1024 * 1024
    max_instances: int = 64


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class TokenGuard:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <token>``.

    The scheme is case-insensitive (RFC 7235: ``bearer`` works as ``Bearer``); a request
    with two Authorization headers is refused rather than judged by one of them."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self._expected = token.encode()

    def _allowed(self, headers) -> bool:
        given = [v for k, v in headers if k.lower() == b"authorization"]
        if len(given) != 1:
            return False
        scheme, _, credentials = given[0].strip().partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(),
                                                                   self._expected)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self._allowed(scope.get("headers") or []):
            response = error(401, "missing or wrong token: send the header "
                                  "'Authorization: Bearer <token>' given to 'serve --token'")
            response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)




def parse_instances(body: bytes, limits: Limits) -> tuple[list, bool]:
    """(the instances, whether the request was columnar: ``"inputs"`` rather than
    ``"instances"``, answered as ``{"outputs": ...}``, as TensorFlow Serving does)."""
    try:
        payload = json.loads(body)
    except RecursionError:
        raise HttpError(400, "the JSON is nested too deeply; an instance is "
                             "{\"b64\": \"...\"} or an H x W x 3 pixel array") from None
    except UnicodeDecodeError:
        raise HttpError(400, sent_instead(body) or "the body is not UTF-8 text; send JSON "
                             "such as {\"instances\": [{\"b64\": \"...\"}]}") from None
    except json.JSONDecodeError as exc:  # Python's "Expecting value: line 1 column 1 (char 0)"
        raise HttpError(400, f"the body is not valid JSON {json_mistake(exc)}; send "
                             "{\"instances\": [{\"b64\": \"...\"}]}") from None
    except ValueError as exc:  # a number of over 4300 digits
        raise HttpError(400, f"the body holds a value that cannot be read ({exc}); send "
                             "{\"instances\": [{\"b64\": \"...\"}]}") from None
    if isinstance(payload, dict) and "instances" in payload and "inputs" in payload:
        raise HttpError(400, "the request has both \"instances\" and \"inputs\"; send one: "
                             "{\"instances\": [...]} (one entry per image)")  # as TF Serving
    columnar = isinstance(payload, dict) and "instances" not in payload and "inputs" in payload
    if not isinstance(payload, dict) or not ("instances" in payload or columnar):
        raise HttpError(400, "expected a JSON object with \"instances\": a list of "
                             "{\"b64\": \"<base64 of an image file>\"} or H x W x 3 pixel arrays")
    signature = payload.get("signature_name") or SIGNATURE  # "" is the default, as in TF Serving
    if signature not in SIGNATURES:  # as TensorFlow Serving does: never answer for another
        raise HttpError(400, f"serving signature name {str(signature)[:100]!r} not found; this "
                             f"model serves {' and '.join(map(repr, SIGNATURES))} (or leave "
                             "\"signature_name\" out)")
    instances = columnar_inputs(payload["inputs"]) if columnar else payload["instances"]
    what = "\"inputs\"" if columnar else "\"instances\""
    if not isinstance(instances, list) or not instances:
        raise HttpError(400, f"{what} must be a non-empty list")
    if len(instances) > limits.max_instances:
        raise HttpError(400, f"{len(instances)} instances in one request; the limit is "
                             f"{limits.max_instances}: split them over several requests")
    return instances, columnar


def sent_instead(body: bytes) -> str:
    """What a body that is not JSON text is, when it is an image file (known by its first
    bytes, as the scan knows one) or a form upload, as curl -F sends (both were "not UTF-8
    text", which sent the user looking at encodings; a serve review), and how to send it
    instead; "" for anything else."""
    fmt = format_by_signature(body[:16])
    kind = f"a {fmt} file" if fmt else \
        "a form upload (multipart, as curl -F sends)" if body.startswith(b"--") else ""
    if not kind:
        return ""
    return (f"the body is {kind}, not JSON: send the image file base64-encoded inside JSON, "
            "{\"instances\": [{\"b64\": \"<base64 of the file>\"}]} (the curl line "
            "'serve' prints does this)")


def columnar_inputs(inputs) -> list:
    """The images of TF Serving's columnar format for the one input: a list (of b64
    objects or pixel arrays), or ``{"image": that list}``."""
    if isinstance(inputs, dict):
        if set(inputs) != {INPUT_NAME}:
            names = ", ".join(repr(str(k)[:40]) for k in list(inputs)[:5])
            raise HttpError(400, f"the columnar \"inputs\" names {names}; this model's one "
                                 f"input is {INPUT_NAME!r}: send "
                                 f"{{\"inputs\": {{\"{INPUT_NAME}\": [...]}}}} "
                                 "or {\"inputs\": [...]}")
        inputs = inputs[INPUT_NAME]  # the input's name, as the row format may give it
    return inputs


def _decode_all(instances: list, size: int,
                stop: Optional[threading.Event] = None) -> np.ndarray:
    """Every instance as (S, S, 3); stops between images once ``stop`` is set (the client
    left: a request may hold 64 huge images, minutes of decoding nobody would read)."""
    arrays = []
    for i, inst in enumerate(instances):
        if stop is not None and stop.is_set():
            raise ClientDisconnect()
        arrays.append(instance_to_array(inst, size, i))
    return np.stack(arrays)


def _parse_and_decode(body: bytes, limits: Limits, size: int,
                      stop: Optional[threading.Event] = None,
                      encoding: str = "") -> tuple[np.ndarray, bool]:
    """JSON -> ((n, S, S, 3), columnar): run in a worker thread, since parsing a 32 MB pixel
    array takes seconds and would hold up every other request on the event loop."""
    instances, columnar = parse_instances(uncompressed(body, encoding, limits.max_body_bytes),
                                          limits)
    del body
    return _decode_all(instances, size, stop), columnar


#: How often (seconds) a request being decoded checks that its client is still there.
DISCONNECT_POLL = 0.5


#: Requests parsed and decoded at once.  A GIF or BMP is decoded whole (Pillow cannot
#: stream them): a 50 KB GIF of 8192 x 8192 takes 320 MB, and a 32 MB pixel array parses
#: into some 400 MB of Python numbers, so the number in flight bounds the memory; more
#: than the machine has cores would not decode faster anyway.
DECODE_SLOTS = max(2, os.cpu_count() or 2)


class ModelService:
    """The handlers for one served model (a :class:`Predictor` behind a :class:`Batcher`)."""

    def __init__(self, predictor, name: str, limits: Limits, batcher: Batcher) -> None:
        self.predictor = predictor
        self.name = name
        self.limits = limits
        self.batcher = batcher
        self._decoding = asyncio.Semaphore(DECODE_SLOTS)
        self._bodies = BodyBudget(BODIES_HELD * limits.max_body_bytes)

    @property
    def flags_unknown(self) -> bool:
        """Whether answers carry "unknown" (a run calibrated for it, threshold not turned off)."""
        return getattr(self.predictor, "unknown_threshold", None) is not None

    def status(self) -> dict:
        return {"model_version_status": [{"version": MODEL_VERSION, "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}

    def metadata(self) -> dict:
        s = self.predictor.image_size
        dims = [{"size": "-1", "name": ""}] + [{"size": str(v), "name": ""} for v in (s, s, 3)]
        n = len(self.predictor.classes)
        outputs = {"probabilities": {"dtype": "DT_FLOAT", "name": "probabilities",
                                     "tensor_shape": {"dim": [{"size": "-1", "name": ""},
                                                              {"size": str(n), "name": ""}]}},
                   "label": {"dtype": "DT_STRING", "name": "label",
                             "tensor_shape": {"dim": [{"size": "-1", "name": ""}]}}}
        if self.flags_unknown:
            outputs["unknown"] = {"dtype": "DT_BOOL", "name": "unknown",
                                  "tensor_shape": {"dim": [{"size": "-1", "name": ""}]}}
        if self.flags_unknown or getattr(self.predictor, "has_unknown_score", False):
            outputs["unknown_score"] = {"dtype": "DT_FLOAT", "name": "unknown_score",
                                        "tensor_shape": {"dim": [{"size": "-1", "name": ""}]}}
        signature = {"inputs": {"image": {"dtype": "DT_FLOAT", "name": "image",  # as exported
                                           "tensor_shape": {"dim": dims}}},
                     "outputs": outputs, "method_name": "tensorflow/serving/predict"}
        as_uint8 = {**signature, "inputs": {"image": {**signature["inputs"]["image"],
                                                      "dtype": "DT_UINT8"}}}
        return {"model_spec": {"name": self.name, "signature_name": SIGNATURE,
                               "version": MODEL_VERSION},
                "metadata": {"signature_def": {"signature_def": {SIGNATURE: signature,
                                                                 SIGNATURES[1]: as_uint8}},
                             "labels": list(self.predictor.classes), "image_size": s,
                             "input": "raw RGB 0-255, resized to the model's size",
                             "format": getattr(self.predictor, "kind", "")}}

    def rows(self, probs: np.ndarray, scores: Optional[np.ndarray]) -> list[dict]:
        classes = self.predictor.classes
        threshold = getattr(self.predictor, "unknown_threshold", None)
        out = []
        for i, row in enumerate(probs):
            item = {"probabilities": [float(p) for p in row],
                    "label": classes[int(np.argmax(row))]}
            # "Say unknown" off: no "unknown", but the score stays, as predict's CSV and the
            # exports keep it (it went too; a review)
            if scores is not None and threshold is not None:
                item["unknown"] = bool(float(scores[i]) > threshold)
            if scores is not None:
                item["unknown_score"] = float(scores[i])
            out.append(item)
        return out

    def columns(self, rows: list[dict]) -> dict:
        """The rows as TF Serving's columnar answer: one list per output."""
        return {"outputs": {key: [row[key] for row in rows] for key in rows[0]}}

    async def predict(self, request: Request) -> JSONResponse:
        limit = self.limits.max_body_bytes
        encoding = request.headers.get("content-encoding", "").strip().lower()
        async with received_body(request, limit, self._bodies) as body, self._decoding:
            stop = threading.Event()
            work = asyncio.ensure_future(run_in_threadpool(
                _parse_and_decode, body, self.limits, self.predictor.image_size, stop,
                encoding))
            while not work.done():
                await asyncio.wait({work}, timeout=DISCONNECT_POLL)
                if not work.done() and await request.is_disconnected():
                    stop.set()  # the decoding stops at the next image
            try:
                images, columnar = work.result()
            except BadInstance as exc:
                raise HttpError(400, str(exc)) from None
        if await request.is_disconnected():  # nobody to answer: spare the model the work
            raise ClientDisconnect()
        probs, scores = await asyncio.wrap_future(self.batcher.submit(images))
        rows = self.rows(probs, scores)
        return JSONResponse(self.columns(rows) if columnar else {"predictions": rows})

    async def handle(self, request: Request) -> JSONResponse:
        match = _PATH.match(request.path_params["rest"])
        if not match:
            return error(404, f"no such route; use /v1/models/{self.name}[/metadata|:predict]")
        name, version, tail = match["name"], match["version"], match["tail"] or ""
        if name != self.name:
            return error(404, f"Servable not found for request: Latest({name}); "
                              f"this server serves '{self.name}'")
        if match["label"] is not None:  # TensorFlow Serving's version labels ("stable")
            return error(404, f"Unrecognized servable version label: {match['label']}; this "
                              f"server has no version labels: use /v1/models/{name}{tail or ''} "
                              f"(version {MODEL_VERSION}, the only one)")
        if version is not None and version.isascii() and version.isdigit() \
                and int(version) == int(MODEL_VERSION):
            version = MODEL_VERSION  # "01" is version 1 to TensorFlow Serving, a number
        if version not in (None, MODEL_VERSION):
            return error(404, f"Servable not found for request: Specific({name}, {version}); "
                              f"only version {MODEL_VERSION} is served")
        want = ("POST" if tail.startswith(":") else "GET")
        if request.method != want and (want, request.method) != ("GET", "HEAD"):  # monitors
            return error(405, f"use {want} for /v1/models/{name}{tail}")
        try:
            if tail == "":
                return JSONResponse(self.status())
            if tail == "/metadata":
                return JSONResponse(self.metadata())
            if tail == ":predict":
                return await self.predict(request)
            return error(404, f"'{tail[1:]}' is not served; use :predict")
        except HttpError as exc:
            return error(exc.status, str(exc))
        except ClientDisconnect:  # the client left mid-request: nobody reads an answer
            log.info("a client disconnected before its answer")
            return error(400, "the client disconnected")
        except Exception as exc:  # a bug or a model failure: answer it, keep serving
            log.exception("request failed")
            return error(500, f"the model failed on this request ({type(exc).__name__}: {exc})")


def build_app(predictor, name: str = "model", token: Optional[str] = None,
              limits: Limits = Limits(), batcher: Optional[Batcher] = None):
    """The ASGI app serving ``predictor`` as ``name`` (token-guarded when ``token`` is given).

    The caller owns ``batcher`` (made here when not given; ``app.state.batcher``)
    and closes it after the server stops.
    """
    batcher = batcher or Batcher(predictor.predict_scored)
    service = ModelService(predictor, name, limits, batcher)

    async def not_found(request: Request, exc) -> JSONResponse:
        return error(404, f"no such route; use /v1/models/{name}[/metadata|:predict]")

    async def wrong_method(request: Request, exc) -> JSONResponse:
        return error(405, f"{request.method} is not served: use GET for /v1/models/{name} and "
                          f"/v1/models/{name}/metadata, POST for /v1/models/{name}:predict")

    app = Starlette(routes=[Route("/v1/models/{rest:path}", service.handle,
                                  methods=["GET", "POST"])],
                    exception_handlers={404: not_found, 405: wrong_method})
    app.router.redirect_slashes = False  # /v1/models is a 404 that says where to go, not a 307
    app.state.batcher = batcher
    app.state.service = service
    return TokenGuard(app, token) if token else app
