"""Every speed figure of issue 7 in one run: the app's engine against the plain Keras recipe.

    python bench/bench_speed.py [--backbone MobileNetV2] [--size 160] [--per-class 60]
                                [--test-per-class 30] [--recipe-epochs 20 10]
                                [--memory-images 10000] [--only SECTION ...] [--workdir DIR]

One generated folder (5 shape classes, JPEGs made locally; 80/20 train/validation split on
both sides) and one held-out folder, one backbone, one weights file and one image size serve
every section, so every ratio compares like with like:

1. ceilings   the rates the hardware allows on in-memory tensors (batch 32, compiled
              tf.function, warm, median of repeated batches): the forward pass of backbone +
              head, and the train step of the recipe's fine-tune (whole base trainable) and of
              the app's fine-tune (its default freeze, core.model.build.apply_freeze).
2. head       the head phase (frozen backbone, augmentation on) in images/s: the recipe's
              fit wall time / (epochs x training images) against the app's phase wall time
              from its engine events (PhaseStarted of this phase -> PhaseStarted of the next,
              so the backbone-feature extraction of the fast head is included), the head
              trained with Adam for the recipe's epochs (head_solver adam) with its fast head
              (K cached augmented views) and with fast_head off (streaming); and the time of
              the default head, one exact logistic fit (section 5's run).
3. finetune   the fine-tuning phase, same measure (PhaseStarted -> its last EpochEnd).
4. whole      a whole train with the same epoch counts (recipe E1+E2; app E1+E2, early stopping
              off): wall time and held-out accuracy.
5. defaults   the app with its own epochs and early stopping: wall time, held-out accuracy and
              the time at which its best weights so far first reach the recipe's held-out
              accuracy (scored after every epoch by a listener; that scoring time is excluded).
6. fasthead   the head phase's wall time with the fast head on vs off (same epochs).
7. predict    one image file -> result through the app's Predictor on the trained model (warm,
              median of --predict-runs), and the held-out folder in images/s vs the forward
              ceiling.
8. memory     in a subprocess (clean RSS): training on --memory-images generated small JPEGs,
              fast_head off so every epoch streams the pipeline; peak RSS (sampled by a thread
              every 50 ms), RSS at each epoch end, growth per epoch after each phase's first.

Ends with a table: figure | app | recipe/ceiling | ratio | goal | PASS/FAIL.

Weights: unless --weights names a real ImageNet file, a random backbone whose BatchNorm
statistics were calibrated on one batch (tests/weights_fixture.py), since this machine cannot
download ImageNet weights; speed does not depend on the weights' values, accuracies are lower
than with ImageNet for both contenders alike.  Benchmark runs are recorded in a run-history
database inside the work folder, not in the user's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SECTIONS = ("ceilings", "head", "finetune", "whole", "defaults", "fasthead", "predict", "memory")
# Which measurements each section needs (so --only runs no more than it prints).
NEEDS = {
    "ceilings": {"ceilings"},
    "head": {"ceilings", "recipe", "app_same", "app_stream", "app_defaults"},
    "finetune": {"ceilings", "recipe", "app_same"},
    "whole": {"recipe", "app_same"},
    "defaults": {"recipe", "app_defaults"},
    "fasthead": {"app_same", "app_stream"},
    "predict": {"ceilings", "app_same"},
    "memory": {"memory"},
}
MEMORY_MARK = "MEMORY_RESULT "


# -- small helpers ----------------------------------------------------------


@dataclass
class Rate:
    median: float  # images/s at the median batch time
    best: float  # images/s at the fastest batch time


def time_rate(step: Callable[[], object], images: int, seconds: float, warmup: int = 2) -> Rate:
    """images/s of ``step`` (which must block until done): warm-up calls untimed, then timed
    calls until ``seconds`` passed and at least 3 ran.  The median is what the phases are
    compared with (they run on the same shared machine); the best is printed alongside."""
    for _ in range(warmup):
        step()
    times: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return Rate(images / statistics.median(times), images / min(times))


def fit_rate(model, x, y, batch: int, seconds: float, warmup: int = 2) -> Rate:
    """images/s of ``model``'s own compiled train step (the function ``fit`` runs), fed the
    in-memory batch ``(x, y)`` again and again.

    Through ``fit`` rather than ``train_on_batch``: they trace different functions, and a
    model whose ``fit`` already ran (the recipe's) then needs no new trace, which on a
    fully trainable backbone costs half a minute.  Batch ends are timed by a callback.
    """
    import keras
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(batch)  # spec (None, ...)

    class Timer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.ends: list[float] = []

        def on_train_batch_end(self, step, logs=None):
            self.ends.append(time.perf_counter())
            timed = self.ends[warmup:]
            if len(timed) >= 4 and timed[-1] - timed[0] >= seconds:
                self.model.stop_training = True

    timer = Timer()
    model.fit(ds, epochs=1, steps_per_epoch=10 ** 6, callbacks=[timer], verbose=0)
    gaps = [b - a for a, b in zip(timer.ends[warmup:], timer.ends[warmup + 1:])]
    return Rate(batch / statistics.median(gaps), batch / min(gaps))


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2 ** 20


class RssSampler:
    """A daemon thread that samples this process's RSS every ``interval`` s and keeps the peak."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_mib())

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())


def machine_line() -> str:
    import keras
    import tensorflow as tf

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    return (f"machine: {cpu}, {os.cpu_count()} logical CPUs ({usable} usable), "
            f"{'GPUs: ' + ', '.join(gpus) if gpus else 'no GPU'}; Python "
            f"{platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}"
            f"; TF threads intra {intra or 'default'} / inter {inter or 'default'}; "
            f"load average {load_text()}")


def load_text() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


# -- section 1: ceilings ------------------------------------------------------


def compile_like_engine(model, lr: float, cfg, jit: bool) -> None:
    """The optimizer, loss and metric core.train.engine compiles with (kept in step by hand)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                  loss=keras.losses.CategoricalCrossentropy(
                      label_smoothing=cfg.train.label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                  jit_compile=jit)


def measure_ceilings(cfg, n_classes: int, weights: str, batch: int, seconds: float,
                     recipe=None, with_recipe: bool = True) -> dict:
    """Forward and app train-step rates on a model built like the engine's; the recipe's
    train-step rate on ``recipe`` (its model, compiled for its fine-tune, whose train
    function its fine-tune fit already traced) or, without it, on a fresh recipe model."""
    import keras
    import numpy as np
    import tensorflow as tf

    from bench_vs_keras import build_recipe_model
    from core.train.device import configure, reset_policy
    from core.model.build import apply_freeze, build_model

    size = cfg.model.image_size
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, 255, (batch, size, size, 3)).astype("float32"))
    y = tf.constant(np.eye(n_classes, dtype="float32")[rng.integers(0, n_classes, batch)])
    out = {}
    device = configure(cfg.train)  # the app's precision/XLA choice for this machine
    try:
        model = build_model(cfg.model, n_classes, size, weights)
        forward = tf.function(lambda t: model(t, training=False), jit_compile=device.xla)
        out["forward"] = time_rate(lambda: forward(x).numpy(), batch, seconds)
        apply_freeze(model, cfg.model.freeze, "fine_tune")
        compile_like_engine(model, cfg.train.fine_tune_learning_rate, cfg, device.xla)
        out["app_step"] = fit_rate(model, x, y, batch, seconds)
    finally:
        reset_policy()
    if not with_recipe:
        return out
    if recipe is None:
        recipe, base = build_recipe_model(cfg.model.backbone, size, weights, n_classes)
        base.trainable = True  # the recipe's fine-tune: the whole base
        recipe.compile(optimizer=keras.optimizers.Adam(1e-5), loss="categorical_crossentropy",
                       metrics=["accuracy"])
    out["recipe_step"] = fit_rate(recipe, x, y, batch, seconds)
    del recipe
    keras.backend.clear_session()
    gc.collect()
    return out


# -- the app's runs -------------------------------------------------------------


class HeldOutScorer:
    """Held-out accuracy of a run's best weights so far (what the user gets if it stops now).

    The model is built before ``train`` starts (which reseeds everything, so building it
    does not change the run); the held-out images are decoded once, as the Predictor does.
    Scored again only when the best-weights file changed.
    """

    def __init__(self, cfg, classes: list[str], test_dir: Path, batch: int = 32) -> None:
        import numpy as np
        import tensorflow as tf

        from core.data.dataset import scan_dataset
        from core.data.imageio import load_rgb
        from core.model.build import build_model

        size = cfg.model.image_size
        index = {c: i for i, c in enumerate(classes)}
        records = [r for r in scan_dataset(str(test_dir)).records if r.class_name in index]
        self.x = np.stack([load_rgb(r.path, size) for r in records]).astype("float32")
        self.y = np.array([index[r.class_name] for r in records])
        self.batch = batch
        self.model = build_model(cfg.model, len(classes), size, None)
        self.fn = tf.function(lambda t: self.model(t, training=False), reduce_retracing=True)
        self.weights: Optional[Path] = None
        self._stamp = None
        self._acc = 0.0

    def __call__(self) -> float:
        import numpy as np

        st = os.stat(self.weights)
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._stamp = stamp
            from core.train.checkpoint import load_weights

            load_weights(self.model, self.weights)
            pred = np.concatenate([np.asarray(self.fn(self.x[i:i + self.batch]))
                                   for i in range(0, len(self.x), self.batch)])
            self._acc = float(np.mean(pred.argmax(1) == self.y))
        return self._acc


class EngineClock:
    """A listener timing the engine's phases from its events.

    Time spent inside the scorer is subtracted, so the clock reads what the run alone took.
    ``stop_at`` cancels the run when that phase starts (after its start is timed).
    """

    def __init__(self, scorer: Optional[HeldOutScorer] = None, cancel=None,
                 stop_at: Optional[str] = None) -> None:
        self.scorer, self.cancel, self.stop_at = scorer, cancel, stop_at
        self.t0 = time.perf_counter()
        self.paused = 0.0
        self.phase_start: dict[str, float] = {}
        self.epoch_ends: list[tuple[str, float]] = []
        self.curve: list[tuple[float, str, int, float]] = []  # (t, phase, epoch, held-out acc)

    def now(self) -> float:
        return time.perf_counter() - self.t0 - self.paused

    def __call__(self, event) -> None:
        from core.events import EpochEnd, PhaseStarted

        if isinstance(event, PhaseStarted):
            self.phase_start[event.phase] = self.now()
            if event.phase == self.stop_at and self.cancel is not None:
                self.cancel.cancel()
        elif isinstance(event, EpochEnd):
            t = self.now()
            self.epoch_ends.append((event.phase, t))
            if self.scorer is not None:
                s = time.perf_counter()
                acc = self.scorer()
                self.paused += time.perf_counter() - s
                self.curve.append((t, event.phase, event.epoch, acc))

    def epochs(self, phase: str) -> int:
        return sum(1 for p, _ in self.epoch_ends if p == phase)

    def phase_seconds(self, phase: str, following: Optional[str] = None) -> float:
        """PhaseStarted(phase) -> PhaseStarted(following) if given and seen, else -> the
        phase's last EpochEnd."""
        start = self.phase_start[phase]
        if following and following in self.phase_start:
            return self.phase_start[following] - start
        return max(t for p, t in self.epoch_ends if p == phase) - start


@dataclass
class AppRun:
    run_dir: str
    wall: float
    clock: EngineClock
    n_train: int
    accuracy: Optional[float] = None
    status: str = ""
    history: list = field(default_factory=list)


def run_app(cfg, run_dir: Path, test_dir: Path, *, score_each_epoch: bool = False,
            stop_at: Optional[str] = None, evaluate: bool = True) -> AppRun:
    from core.data.dataset import scan_dataset
    from core.infer.evaluation import evaluate_folder
    from core.events import CancelToken
    from core.infer.loaders import load_predictor
    from core.runs.folder import RunFolder
    from core.train.engine import train

    scorer = None
    if score_each_epoch:
        classes = list(scan_dataset(cfg.data.data_dir).classes)
        scorer = HeldOutScorer(cfg, classes, test_dir, cfg.train.batch_size)
        scorer.weights = RunFolder(run_dir).best_weights_path
    shutil.rmtree(run_dir, ignore_errors=True)  # a rerun in the same --workdir
    cancel = CancelToken()
    clock = EngineClock(scorer, cancel, stop_at)
    result = train(cfg, run_dir, listener=clock, cancel=cancel)
    wall = clock.now()
    n_train = len(RunFolder(run_dir).read_json("split.json")["train"])
    acc = None
    if evaluate:
        acc = evaluate_folder(load_predictor(result.run_dir), str(test_dir)).accuracy
    return AppRun(result.run_dir, wall, clock, n_train, acc, result.status, result.history)


# -- section 7: prediction --------------------------------------------------------


def measure_prediction(run_dir: str, test_dir: Path, runs: int, batch: int) -> dict:
    from core.infer.loaders import load_predictor
    from core.infer.predictor import expand_image_paths

    predictor = load_predictor(run_dir)
    paths = expand_image_paths([str(test_dir)])
    for p in paths[:3]:
        predictor.predict_paths([p])  # warm: graph traced, thread pool, file cache
    times = []
    for i in range(runs):
        p = paths[i % len(paths)]
        t = time.perf_counter()
        rows = predictor.predict_paths([p])
        times.append(time.perf_counter() - t)
        assert rows and not rows[0].error, rows
    # The folder, timed in turn with the forward pass of the same model on an in-memory
    # batch (as in section 1) over as many images: on a shared machine the load drifts in
    # minutes, so the ratio is taken between figures measured seconds apart.
    import numpy as np
    import tensorflow as tf

    model = predictor.model
    size = predictor.image_size
    x = tf.constant(np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)),
                    tf.float32)
    forward = tf.function(lambda t: model(t, training=False))
    n_batches = max(1, round(len(paths) / batch))
    forward(x).numpy()
    predictor.predict_paths(paths, batch_size=batch)  # warm at the folder batch size
    folder_rates, forward_rates = [], []
    for _ in range(5):
        t = time.perf_counter()
        rows = predictor.predict_paths(paths, batch_size=batch)
        folder_rates.append(len(paths) / (time.perf_counter() - t))
        assert len(rows) == len(paths)
        t = time.perf_counter()
        for _ in range(n_batches):
            forward(x).numpy()
        forward_rates.append(n_batches * batch / (time.perf_counter() - t))
    return dict(one_ms=statistics.median(times) * 1000, one_best_ms=min(times) * 1000,
                runs=runs, folder_ips=statistics.median(folder_rates),
                forward_ips=statistics.median(forward_rates), folder_images=len(paths))


# -- section 8: memory (runs in a child process) --------------------------------------


def memory_child(args) -> int:
    """Train on the memory data set and print one MEMORY_RESULT json line."""
    baseline = rss_mib()
    from bench_vs_keras import app_config
    from core.events import EpochEnd
    from core.train.engine import train

    cfg = app_config(Path(args.memory_data), args.memory_backbone, args.memory_size,
                     args.weights)
    cfg.train.epochs, cfg.train.fine_tune_epochs = args.memory_epochs
    cfg.train.fast_head = False  # every head epoch streams the pipeline too
    cfg.train.early_stopping_patience = 0
    cfg.train.batch_size = args.batch_size
    epochs: list[dict] = []

    def listener(event) -> None:
        if isinstance(event, EpochEnd):
            epochs.append(dict(phase=event.phase, epoch=event.epoch, rss=rss_mib(),
                               seconds=event.seconds))
            print(f"epoch end {event.phase} {event.epoch}/{event.epochs}: RSS "
                  f"{epochs[-1]['rss']:.0f} MiB ({event.seconds:.1f} s)", flush=True)

    import tensorflow  # noqa: F401  (its import is part of the baseline, not of training)

    after_import = rss_mib()
    t0 = time.perf_counter()
    run_dir = Path(args.workdir) / "memory-run"
    shutil.rmtree(run_dir, ignore_errors=True)  # a rerun in the same --workdir
    with RssSampler() as sampler:
        result = train(cfg, run_dir, listener=listener)
    print(MEMORY_MARK + json.dumps(dict(
        baseline=baseline, after_import=after_import, peak=sampler.peak, epochs=epochs,
        seconds=time.perf_counter() - t0, status=result.status,
        cache_mb=cfg.data.cache_mb, batch=cfg.train.batch_size)), flush=True)
    return 0


def run_memory(args, work: Path) -> dict:
    from core.data.sample_data import SHAPES, generate_sample_dataset
    from weights_fixture import calibrated_weights

    per_class = max(1, args.memory_images // len(SHAPES))
    data = work / f"memory-data-{per_class * len(SHAPES)}-{args.data_size}px"
    if not data.exists():
        print(f"  generating {per_class * len(SHAPES)} JPEGs ({args.data_size} px) ...",
              flush=True)
        generate_sample_dataset(data, classes=list(SHAPES), per_class=per_class,
                                size=args.data_size, seed=3, fmt="jpg")
    weights = work / f"{args.memory_backbone}_{args.memory_size}.weights.h5"
    if not weights.exists():  # the main sections' file when backbone and size are the same
        calibrated_weights(args.memory_backbone, args.memory_size, weights)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child",
           "--memory-data", str(data), "--weights", str(weights), "--workdir", str(work),
           "--memory-backbone", args.memory_backbone, "--memory-size", str(args.memory_size),
           "--memory-epochs", *map(str, args.memory_epochs), "--batch-size",
           str(args.batch_size)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    found = None
    for line in proc.stdout:
        if line.startswith(MEMORY_MARK):
            found = json.loads(line[len(MEMORY_MARK):])
        else:
            print("  | " + line.rstrip(), flush=True)
    if proc.wait() != 0 or found is None:
        raise RuntimeError(f"the memory child exited with {proc.returncode}: {' '.join(cmd)}")
    found["images"] = per_class * len(SHAPES)
    return found


def memory_growth(epochs: list[dict]) -> tuple[Optional[float], dict]:
    """Per phase, MiB per epoch from the phase's first epoch end to its last (the first
    epoch of a phase pays one-off costs: graph tracing, filling the decoded cache); and the
    worst of them (None when no phase ran two epochs)."""
    per_phase = {}
    for phase in ("head", "fine_tune"):
        values = [e["rss"] for e in epochs if e["phase"] == phase]
        if len(values) >= 2:
            per_phase[phase] = (values[-1] - values[0]) / (len(values) - 1)
    return (max(per_phase.values()) if per_phase else None), per_phase


# -- report --------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    @staticmethod
    def line(label: str, text: str) -> None:
        print(f"  {label:<40s}: {text}", flush=True)

    def row(self, figure: str, app: str, ref: str, ratio: str, goal: str,
            ok: Optional[bool]) -> None:
        verdict = "-" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append((figure, app, ref, ratio, goal, verdict))

    def table(self) -> None:
        head = ("figure", "app", "recipe/ceiling", "ratio", "goal", "PASS/FAIL")
        widths = [max(len(r[i]) for r in self.rows + [head]) for i in range(6)]
        fmt = " | ".join(f"{{:<{w}}}" for w in widths)
        print(fmt.format(*head))
        print("-+-".join("-" * w for w in widths))
        for r in self.rows:
            print(fmt.format(*r))


def ips(x: float) -> str:
    return f"{x:.1f} img/s"


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbone", default="MobileNetV2")
    ap.add_argument("--size", type=int, default=160, help="model input size (px)")
    ap.add_argument("--per-class", type=int, default=60, help="training images per class")
    ap.add_argument("--test-per-class", type=int, default=30, help="held-out images per class")
    ap.add_argument("--data-size", type=int, default=128, help="side of the generated JPEGs")
    ap.add_argument("--recipe-epochs", type=int, nargs=2, default=(20, 10),
                    metavar=("HEAD", "FINE_TUNE"))
    ap.add_argument("--default-epochs", type=int, nargs=2, metavar=("HEAD", "FINE_TUNE"),
                    help="override the app's default epochs in section 5 (for quick runs)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--ceiling-seconds", type=float, default=10.0,
                    help="timed seconds per ceiling")
    ap.add_argument("--predict-runs", type=int, default=30)
    ap.add_argument("--memory-images", type=int, default=10000)
    ap.add_argument("--memory-backbone", default="MobileNetV3Small")
    ap.add_argument("--memory-size", type=int, default=96)
    ap.add_argument("--memory-epochs", type=int, nargs=2, default=(3, 3),
                    metavar=("HEAD", "FINE_TUNE"))
    ap.add_argument("--memory-bound-gib", type=float, default=3.0,
                    help="stated bound on peak RSS while training on --memory-images")
    ap.add_argument("--memory-growth-mib", type=float, default=10.0,
                    help="largest RSS growth per epoch (after a phase's first) that counts as "
                         "not growing")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                    help=f"run only these sections: {', '.join(SECTIONS)}")
    ap.add_argument("--weights", help="a backbone weights file (default: BN-calibrated random)")
    ap.add_argument("--workdir", help="keep the data and runs here (default: a temp folder, "
                                      "removed at the end)")
    ap.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--memory-data", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.memory_child:
        return memory_child(args)

    temp = not args.workdir
    work = Path(args.workdir or tempfile.mkdtemp(prefix="fts-bench-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FTS_DATA_DIR", str(work / "studio-data"))  # keep the user's history
    try:
        return run_all(args, work)
    finally:
        if temp:
            shutil.rmtree(work, ignore_errors=True)


def run_all(args, work: Path) -> int:
    wanted = list(args.only or SECTIONS)
    needs = set().union(*(NEEDS[s] for s in wanted))
    t_start = time.perf_counter()
    print(machine_line(), flush=True)

    from bench_vs_keras import app_config, make_folders, run_recipe

    train_dir, test_dir = make_folders(work / "data", args.per_class, args.test_per_class,
                                       args.data_size)
    weights = args.weights
    if not weights:
        from weights_fixture import calibrated_weights

        weights = str(calibrated_weights(args.backbone, args.size,
                                         work / f"{args.backbone}_{args.size}.weights.h5"))
    n_classes = len([d for d in train_dir.iterdir() if d.is_dir()])
    e_head, e_ft = args.recipe_epochs
    print(f"data: {args.per_class}/class train (80/20 train/validation), "
          f"{args.test_per_class}/class held out, {n_classes} classes, {args.data_size} px JPEGs; "
          f"{args.backbone} at {args.size} px; batch {args.batch_size}; weights {weights}",
          flush=True)

    def cfg_for(head: int, ft: int, patience: int, fast_head: bool = True,
                solver: str = "adam"):
        """The app's settings; "same epochs" runs train the head with Adam for its epochs,
        as the recipe does: with the default exact fit the head phase is one fit, and
        "20 head epochs" compared one fit with the recipe's 20 epochs."""
        cfg = app_config(train_dir, args.backbone, args.size, weights)
        cfg.train.epochs, cfg.train.fine_tune_epochs = head, ft
        cfg.train.early_stopping_patience = patience
        cfg.train.fast_head = fast_head
        cfg.train.head_solver = solver
        cfg.train.batch_size = args.batch_size
        return cfg

    def progress(what: str, t0: float) -> None:
        print(f"  [{time.perf_counter() - t_start:6.0f} s] {what} done in "
              f"{time.perf_counter() - t0:.1f} s (load average {load_text()})", flush=True)

    ceil = rec = same = stream = defaults = mem = pred = None
    print("\nmeasuring (figures follow) ...", flush=True)
    if "recipe" in needs:
        t0 = time.perf_counter()
        rec = run_recipe(train_dir, test_dir, args.backbone, args.size, weights,
                         (e_head, e_ft), args.batch_size)
        progress(f"recipe {e_head}+{e_ft} epochs", t0)
    if "ceilings" in needs:
        t0 = time.perf_counter()
        ceil = measure_ceilings(cfg_for(e_head, e_ft, 0), n_classes, weights, args.batch_size,
                                args.ceiling_seconds, rec.pop("model") if rec else None,
                                with_recipe=bool({"ceilings", "finetune"} & set(wanted)))
        progress("ceilings", t0)
    if rec:
        rec.pop("model", None)
    if "app_same" in needs:
        t0 = time.perf_counter()
        same = run_app(cfg_for(e_head, e_ft, 0), work / "app-same", test_dir)
        progress(f"app {e_head}+{e_ft} epochs, early stopping off", t0)
    if "app_stream" in needs:
        t0 = time.perf_counter()
        # One fine-tune epoch is planned only so PhaseStarted("fine_tune") ends the head phase
        # exactly as in the run above; the run is stopped right there.
        stream = run_app(cfg_for(e_head, 1, 0, fast_head=False), work / "app-stream", test_dir,
                         stop_at="fine_tune", evaluate=False)
        progress(f"app head phase streaming ({e_head} epochs, fast_head off)", t0)
    if "app_defaults" in needs:
        t0 = time.perf_counter()
        from core.config import TrainConfig

        d = TrainConfig()
        dh, dft = args.default_epochs or (d.epochs, d.fine_tune_epochs)
        defaults = run_app(cfg_for(dh, dft, d.early_stopping_patience, solver=d.head_solver),
                           work / "app-defaults",
                           test_dir, score_each_epoch=True)
        progress(f"app defaults ({dh}+{dft} epochs, early stopping {d.early_stopping_patience})",
                 t0)
    if "predict" in wanted:
        t0 = time.perf_counter()
        pred = measure_prediction(same.run_dir, test_dir, args.predict_runs, args.batch_size)
        progress("prediction", t0)
    if "memory" in needs:
        t0 = time.perf_counter()
        mem = run_memory(args, work)
        progress("memory subprocess", t0)

    rep = Report()
    fwd = ceil["forward"].median if ceil else None
    if "ceilings" in wanted:
        section(f"1. Ceilings: in-memory tensors, batch {args.batch_size}, compiled, warm "
                f"(median; best in brackets)")
        for key, label in (("forward", "forward ceiling (backbone+head)"),
                           ("recipe_step", "train-step ceiling, recipe fine-tune"),
                           ("app_step", "train-step ceiling, app fine-tune")):
            r = ceil[key]
            rep.line(label, f"{r.median:7.1f} images/s  ({r.best:.1f})")
            rep.row(label, ips(r.median), "-", "-", "-", None)
        print(f"  (recipe fine-tune: whole base trainable; app fine-tune: its default freeze, "
              f"top {cfg_for(1, 1, 0).model.freeze.top_n} backbone layers, BatchNorm frozen)")

    if rec is not None:
        rec_head = e_head * rec["n_train"] / rec["head_s"]
        rec_ft = e_ft * rec["n_train"] / rec["ft_s"] if e_ft else None
    if "head" in wanted:
        section("2. Head phase: frozen backbone, augmentation on (phase images/s = epochs x "
                "training images / phase wall time)")
        views = cfg_for(1, 1, 0).train.head_feature_views
        app_fast = same.clock.epochs("head") * same.n_train / same.clock.phase_seconds(
            "head", "fine_tune")
        app_stream = stream.clock.epochs("head") * stream.n_train / stream.clock.phase_seconds(
            "head", "fine_tune")
        rep.line("recipe head phase", f"{rec_head:7.1f} images/s  ({e_head} epochs x "
                 f"{rec['n_train']} images in {rec['head_s']:.1f} s)")
        rep.line(f"app head phase, fast head (K={views})",
                 f"{app_fast:7.1f} images/s  {app_fast / rec_head:.2f}x the recipe (goal >= 2x); "
                 f"{same.clock.phase_seconds('head', 'fine_tune'):.1f} s incl. feature extraction")
        rep.line("app head phase, streaming",
                 f"{app_stream:7.1f} images/s  {app_stream / rec_head:.2f}x the recipe; "
                 f"{100 * app_stream / fwd:.0f}% of the forward ceiling")
        rep.row(f"head phase, fast head K={views}", ips(app_fast), ips(rec_head),
                f"{app_fast / rec_head:.2f}x", ">= 2x", app_fast >= 2 * rec_head)
        rep.row("head phase, streaming", ips(app_stream), ips(rec_head),
                f"{app_stream / rec_head:.2f}x", "-", None)
        rep.row("head streaming vs forward ceiling", ips(app_stream), ips(fwd),
                f"{100 * app_stream / fwd:.0f}%", "-", None)
        if defaults is not None:  # the default head: one exact fit instead of epochs
            exact = defaults.clock.phase_seconds("head", "fine_tune")
            rep.line("app head phase, default (exact fit)",
                     f"{exact:7.1f} s  against the recipe's {rec['head_s']:.1f} s for "
                     f"{e_head} epochs ({rec['head_s'] / exact:.1f}x less), feature "
                     "extraction included")
            rep.row("head phase time, default exact fit", f"{exact:.1f} s",
                    f"{rec['head_s']:.1f} s", f"{rec['head_s'] / exact:.1f}x less", "-", None)

    if "finetune" in wanted:
        section("3. Fine-tuning phase (images/s = epochs x training images / phase wall time)")
        app_ft_s = same.clock.phase_seconds("fine_tune")
        app_ft = same.clock.epochs("fine_tune") * same.n_train / app_ft_s
        rstep, astep = ceil["recipe_step"].median, ceil["app_step"].median
        rep.line("recipe fine-tune phase", f"{rec_ft:7.1f} images/s  ({e_ft} epochs in "
                 f"{rec['ft_s']:.1f} s; {100 * rec_ft / rstep:.0f}% of its train-step ceiling)")
        rep.line("app fine-tune phase", f"{app_ft:7.1f} images/s  {app_ft / rec_ft:.2f}x the "
                 f"recipe (goal >= 1.5x); {100 * app_ft / astep:.0f}% of its train-step ceiling "
                 f"({app_ft_s:.1f} s)")
        rep.row("fine-tune phase", ips(app_ft), ips(rec_ft), f"{app_ft / rec_ft:.2f}x",
                ">= 1.5x", app_ft >= 1.5 * rec_ft)
        rep.row("fine-tune vs own train-step ceiling", f"{100 * app_ft / astep:.0f}%",
                f"{100 * rec_ft / rstep:.0f}%", "-", "-", None)

    if "whole" in wanted:
        section(f"4. Whole train, same epochs (recipe {e_head}+{e_ft}; app {e_head}+{e_ft}, "
                "early stopping off)")
        rep.line("recipe whole train", f"{rec['wall']:7.1f} s  held-out accuracy "
                 f"{rec['accuracy']:.3f}")
        rep.line("app whole train, same epochs", f"{same.wall:7.1f} s  held-out accuracy "
                 f"{same.accuracy:.3f}  time {same.wall / rec['wall']:.2f}x the recipe's "
                 f"(goal <= 0.5x), accuracy {same.accuracy - rec['accuracy']:+.3f}")
        rep.row("whole train time, same epochs", f"{same.wall:.1f} s", f"{rec['wall']:.1f} s",
                f"{same.wall / rec['wall']:.2f}x", "<= 0.5x", same.wall <= 0.5 * rec["wall"])
        rep.row("whole train held-out accuracy", f"{same.accuracy:.3f}",
                f"{rec['accuracy']:.3f}", f"{same.accuracy - rec['accuracy']:+.3f}",
                ">= recipe", same.accuracy >= rec["accuracy"])

    if "defaults" in wanted:
        section("5. App defaults (its own epochs, early stopping on) vs the recipe's "
                f"{e_head}+{e_ft}-epoch accuracy")
        n_ep = len(defaults.history)
        rep.line("app defaults", f"{defaults.wall:7.1f} s  held-out accuracy "
                 f"{defaults.accuracy:.3f}  ({n_ep} epochs run: "
                 f"{defaults.clock.epochs('head')} head + {defaults.clock.epochs('fine_tune')} "
                 f"fine-tune)")
        target = rec["accuracy"]
        reached = next((c for c in defaults.clock.curve if c[3] >= target), None)
        curve = ", ".join(f"{t:.0f}s:{a:.2f}" for t, _, _, a in defaults.clock.curve)
        print(f"    held-out accuracy of the best weights after each epoch (time: accuracy): "
              f"{curve}")
        if reached:
            t, phase, ep, acc = reached
            rep.line("time to recipe accuracy", f"{t:7.1f} s  (after {phase} epoch {ep}, "
                     f"accuracy {acc:.3f} >= {target:.3f}); {rec['wall'] / t:.1f}x less than "
                     f"the recipe's {rec['wall']:.1f} s (goal >= 3x)")
            rep.row("time to recipe accuracy", f"{t:.1f} s", f"{rec['wall']:.1f} s",
                    f"{rec['wall'] / t:.1f}x less", ">= 3x less", rec["wall"] >= 3 * t)
        else:
            rep.line("time to recipe accuracy", f"not reached: best {defaults.accuracy:.3f} < "
                     f"{target:.3f} in {defaults.wall:.1f} s")
            rep.row("time to recipe accuracy", "not reached", f"{rec['wall']:.1f} s", "-",
                    ">= 3x less", False)
        rep.row("app defaults wall / accuracy", f"{defaults.wall:.1f} s / "
                f"{defaults.accuracy:.3f}", f"{rec['wall']:.1f} s / {rec['accuracy']:.3f}",
                f"{rec['wall'] / defaults.wall:.1f}x less", "-", None)

    if "fasthead" in wanted:
        section(f"6. Fast head: head phase wall time, {e_head} epochs, fast head on vs off")
        on = same.clock.phase_seconds("head", "fine_tune")
        off = stream.clock.phase_seconds("head", "fine_tune")
        rep.line("fast head speed-up", f"{off / on:7.2f}x  ({on:.1f} s on, {off:.1f} s off)")
        rep.row("fast head speed-up", f"{on:.1f} s", f"{off:.1f} s (off)", f"{off / on:.2f}x",
                "-", None)

    if "predict" in wanted:
        section("7. Prediction through the app's Predictor, warm")
        rep.line("predict one image", f"{pred['one_ms']:7.1f} ms  median of {pred['runs']} "
                 f"(best {pred['one_best_ms']:.1f} ms; goal <= 150 ms)")
        share = pred["folder_ips"] / pred["forward_ips"]
        rep.line("predict a folder", f"{pred['folder_ips']:7.1f} images/s  "
                 f"({pred['folder_images']} held-out files, batch {args.batch_size}) "
                 f"{100 * share:.0f}% of the forward pass timed alongside "
                 f"({pred['forward_ips']:.1f} images/s; goal >= 80%); "
                 f"{100 * pred['folder_ips'] / fwd:.0f}% of section 1's ceiling")
        rep.row("predict one image", f"{pred['one_ms']:.1f} ms", "-", "-", "<= 150 ms",
                pred["one_ms"] <= 150)
        rep.row("predict a folder", ips(pred["folder_ips"]), ips(pred["forward_ips"]),
                f"{100 * share:.0f}%", ">= 80%", share >= 0.8)

    if "memory" in wanted:
        section(f"8. Memory: subprocess training on {mem['images']} generated "
                f"{args.data_size} px JPEGs, {args.memory_backbone} at {args.memory_size} px, "
                f"{args.memory_epochs[0]}+{args.memory_epochs[1]} epochs, fast_head off, "
                f"batch {mem['batch']}, decoded cache budget {mem['cache_mb']} MiB")
        bound = args.memory_bound_gib * 1024
        worst, per_phase = memory_growth(mem["epochs"])
        rss = ", ".join(f"{e['rss']:.0f}" for e in mem["epochs"])
        print(f"    RSS: start {mem['baseline']:.0f} MiB, after importing TensorFlow "
              f"{mem['after_import']:.0f} MiB; at each epoch end {rss} MiB; training took "
              f"{mem['seconds']:.0f} s")
        rep.line("memory peak RSS", f"{mem['peak']:7.0f} MiB  (stated bound "
                 f"{args.memory_bound_gib:g} GiB: {'PASS' if mem['peak'] <= bound else 'FAIL'})")
        growth = ", ".join(f"{p} {g:+.1f} MiB/epoch" for p, g in per_phase.items()) or \
            "n/a (a phase needs 2 epochs)"
        rep.line("memory growth per epoch", f"{growth}  (after each phase's first epoch; "
                 f"bound {args.memory_growth_mib:g} MiB/epoch)")
        rep.row("memory peak RSS", f"{mem['peak']:.0f} MiB", "-", "-",
                f"<= {args.memory_bound_gib:g} GiB", mem["peak"] <= bound)
        rep.row("memory growth per epoch", "n/a" if worst is None else f"{worst:+.1f} MiB",
                "-", "-", f"<= {args.memory_growth_mib:g} MiB",
                None if worst is None else worst <= args.memory_growth_mib)

    section(f"Summary ({time.perf_counter() - t_start:.0f} s in all; load average now "
            f"{load_text()})")
    rep.table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
