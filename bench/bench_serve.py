"""The prediction server under load: requests/s and p50/p99 latency, 1, 4 and 16 clients.

    python bench/bench_serve.py [MODEL] [--requests 200] [--clients 1,4,16]
                                [--backbone MobileNetV2] [--size 224] [--work DIR]

Method: ``python main.py serve MODEL --port 0`` runs in its own process (as a
user would run it) on 127.0.0.1; this process is the clients, one thread each
with a keep-alive HTTP connection, every request one JPEG photo-sized image
(640x480) as ``{"instances": [{"b64": ...}]}``.  Each client count gets a few
warm-up requests, then ``--requests`` timed ones shared among the clients;
latency is per request (send to full answer), throughput is requests over wall
time.  Without MODEL a .keras classifier (``--backbone`` at ``--size`` px, 3
classes, random weights: the speed is the same as a trained one) is written.
The run stops by itself; the server is stopped with SIGINT (its graceful path).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def make_model(work: Path, backbone: str, size: int) -> Path:
    from core.config import StudioConfig
    from core.model.build import build_model

    cfg = StudioConfig()
    cfg.model.backbone = backbone
    cfg.model.weights = "none"
    model = build_model(cfg.model, 3, size, None, seed=0)
    path = work / "model.keras"
    model.save(path)
    (work / "labels.txt").write_text("circle\nsquare\ntriangle\n")
    return path


def jpeg_b64(seed: int) -> str:
    from PIL import Image

    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return base64.b64encode(buf.getvalue()).decode()


def start_server(model: Path, log: Path) -> tuple[subprocess.Popen, str, int]:
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "main.py", "serve", str(model), "--port", "0",
                                 "--name", "bench"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=err, text=True)
    line = proc.stdout.readline()  # "serving ... at http://127.0.0.1:PORT/v1/models/bench"
    if " at http://" not in line:
        proc.kill()
        raise SystemExit(f"the server did not start; see {log}")
    url = line.rsplit(" at ", 1)[1].strip()
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    return proc, host, int(port)


def model_alone(model: Path) -> None:
    """The model's own rate in this process, for scale: what no server can beat."""
    from core.infer.loaders import load_predictor

    p = load_predictor(model)
    for n in (1, 16):
        x = np.random.default_rng(0).uniform(0, 255, (n, p.image_size, p.image_size, 3))
        p.predict_arrays(x)  # warm
        t = time.perf_counter()
        for _ in range(3):
            p.predict_arrays(x)
        ms = (time.perf_counter() - t) / 3 * 1000
        print(f"model alone, batch {n:2d}: {ms:7.1f} ms per call, {n * 1000 / ms:6.1f} images/s")


def load(host: str, port: int, clients: int, requests: int, bodies: list[bytes]):
    """(wall seconds, per-request latencies in ms, failures) for ``requests`` shared requests."""
    latencies, failures, lock = [], [], threading.Lock()
    left = [requests]

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        i = n
        while True:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            body = bodies[i % len(bodies)]
            i += clients
            t = time.perf_counter()
            conn.request("POST", "/v1/models/bench:predict", body,
                         {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            ms = (time.perf_counter() - t) * 1000
            with lock:
                (latencies if resp.status == 200 else failures).append(
                    ms if resp.status == 200 else data[:200])
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", help="a run folder or exported model (default: make one)")
    ap.add_argument("--requests", type=int, default=200, help="timed requests per client count")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--backbone", default="MobileNetV2")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--work", help="folder for the generated model (default: a temp dir)")
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    model = Path(args.model) if args.model else make_model(work, args.backbone, args.size)
    bodies = [json.dumps({"instances": [{"b64": jpeg_b64(s)}]}).encode() for s in range(8)]
    model_alone(model)
    proc, host, port = start_server(model, work / "serve.log")
    print(f"model: {model}  ({os.cpu_count()} CPUs, server in its own process on {host}:{port})")
    print(f"{'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'failed':>6}")
    try:
        for clients in [int(c) for c in args.clients.split(",")]:
            load(host, port, clients, max(clients * 2, 8), bodies)  # warm-up
            wall, lat, failed = load(host, port, clients, args.requests, bodies)
            p50, p99 = (np.percentile(lat, [50, 99]) if lat else (float("nan"),) * 2)
            print(f"{clients:7d} {len(lat):8d} {len(lat) / wall:7.1f} {p50:8.1f} {p99:8.1f} "
                  f"{len(failed):6d}", flush=True)
            if failed:
                print(f"  first failure: {failed[0]!r}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"server exit status after Ctrl+C: {proc.returncode}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
