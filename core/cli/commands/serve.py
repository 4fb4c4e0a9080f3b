"""``python main.py serve MODEL``: answer predictions over HTTP with TensorFlow Serving's REST API."""

from __future__ import annotations

import os
import sys

from core.cli.terminal import name, printable, warn_caution


def register(sub) -> None:
    p = sub.add_parser(
        "serve", help="serve a run folder or exported model over HTTP (TensorFlow Serving's REST API)",
        description="Serve MODEL at http://HOST:PORT/v1/models/NAME with TensorFlow Serving's REST "
        "API: GET .../NAME (status), GET .../NAME/metadata, POST .../NAME:predict with "
        "{\"instances\": [{\"b64\": \"<base64 of an image file>\"} or H x W x 3 pixel arrays]}. "
        "Ctrl+C stops it.")
    p.add_argument("model", metavar="MODEL", help="a run folder or an exported model")
    p.add_argument("--port", type=int, default=8501,
                   help="TCP port (default 8501, TensorFlow Serving's; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only); any other "
                   "needs --token")
    p.add_argument("--name", default="model", help="the model name in the URLs (default 'model')")
    p.add_argument("--token", metavar="T",
                   help="require 'Authorization: Bearer T' on every request (or set "
                   f"{TOKEN_VARIABLE}: a command line's words are visible to every user of "
                   "the machine, in ps)")
    p.add_argument("--max-batch", type=int, default=32, metavar="N",
                   help="most images the model is given at once when requests arrive together "
                   "(default 32)")
    p.set_defaults(func=run)


#: The environment variable a token may come from instead of --token.
TOKEN_VARIABLE = "FTS_SERVE_TOKEN"


def run(args) -> int:
    from core.errors import UserError
    from core.infer.loaders import load_predictor
    from core.serve.server import RunningServer, ServeOptions, check_options

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: give a port from 1 to 65535 (0: any free port)")
    if args.max_batch < 1:
        raise UserError(f"--max-batch {args.max_batch}: give 1 or more")
    # an empty variable is a leftover ("export FTS_SERVE_TOKEN=", a unit's "Environment=..."):
    # unset for a loopback server; it stopped one with "--token is empty" (a serve review)
    from_env = args.token is None and bool((os.environ.get(TOKEN_VARIABLE) or "").strip())
    token = os.environ.get(TOKEN_VARIABLE) if from_env else args.token
    options = ServeOptions(host=args.host, port=args.port, name=args.name, token=token,
                           max_batch=args.max_batch)
    check_options(options)  # before the slow model load
    predictor = load_predictor(args.model)
    server = RunningServer(predictor, options)
    print(f"serving {name(predictor.source)} ({len(predictor.classes)} classes, "
          f"{predictor.image_size} px) at {server.model_url}", flush=True)
    # a token from the environment stays there: the line names the variable, not its value
    example = server.curl_example(token_text=f"${TOKEN_VARIABLE}" if from_env else None)
    print(f"try: {example}", file=sys.stderr, flush=True)
    warn_caution(predictor)
    if predictor.unknown_note:  # a copied export: no "unknown" in its answers
        print(f"warning: {printable(predictor.unknown_note)}", file=sys.stderr, flush=True)
    print("Ctrl+C stops it", file=sys.stderr, flush=True)
    # uvicorn shuts down gracefully on SIGINT and SIGTERM, then raises the signal again
    # with the handler found before it: main's termination_as_interrupt, which turns a
    # SIGTERM (systemd, docker stop, kill) and a SIGHUP (a closed terminal, unless nohup
    # ignores it) into Ctrl+C, so they end with "stopped" and exit status 0.
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C after its graceful shutdown
        pass
    print("stopped", file=sys.stderr)
    return 0
