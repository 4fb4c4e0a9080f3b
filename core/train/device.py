"""Which device trains, with which precision, under which tf.distribute strategy.

The decision (:func:`decide`) is plain logic so it can be tested on a machine
without a GPU; :func:`configure` applies it to TensorFlow/Keras.  The strategy
is created in exactly one place, :func:`make_strategy`, so multi-device
training (MirroredStrategy, MultiWorkerMirroredStrategy) plugs in here only.

Rules: on a GPU, mixed precision (``mixed_float16`` compute, float32 softmax)
and XLA are on by default because they roughly double throughput on tensor
cores; on a CPU neither is used (float16 is slower there and XLA's compile
time is not repaid on small runs).  ``on``/``off`` in the config override.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "CPU" or "GPU"
    gpus: int
    mixed_precision: bool
    xla: bool
    strategy: str  # "default", "one-device", "mirrored", "multi-worker"
    names: tuple = ()

    def describe(self) -> str:
        where = f"{self.gpus} GPU{'s' if self.gpus != 1 else ''}" if self.kind == "GPU" else "CPU"
        if self.names:
            where += f" ({', '.join(self.names)})"
        return (f"{where}; mixed precision {'on' if self.mixed_precision else 'off'}; "
                f"XLA {'on' if self.xla else 'off'}; strategy {self.strategy}")

    def in_words(self) -> str:
        """:meth:`describe` for the window: "strategy default" meant nothing to a user (a
        review), so the strategy is said only when it spreads the work, in words."""
        spread = {"mirrored": "each batch split over the GPUs" if self.gpus > 1 else "",
                  "multi-worker": "training shared with other machines"}.get(self.strategy)
        head = self.describe().rsplit("; strategy ", 1)[0]
        return f"{head}; {spread}" if spread else head

    def to_dict(self) -> dict:
        d = asdict(self)
        d["names"] = list(self.names)
        return d


def decide(mixed_precision: str, xla: str, strategy: str, gpu_names: Sequence[str]) -> DeviceInfo:
    """Pure decision from the config switches and the list of visible GPUs."""
    gpus = len(gpu_names)
    on_gpu = gpus > 0
    mp = {"on": True, "off": False}.get(mixed_precision, on_gpu)
    jit = {"on": True, "off": False}.get(xla, on_gpu)
    if strategy == "auto":
        # One GPU: OneDeviceStrategy, whose input distribution prefetches batches
        # onto the GPU while the previous step runs; several: mirror across all.
        strat = "mirrored" if gpus > 1 else "one-device" if gpus == 1 else "default"
    else:
        strat = strategy
    return DeviceInfo(kind="GPU" if on_gpu else "CPU", gpus=gpus, mixed_precision=mp, xla=jit,
                      strategy=strat, names=tuple(gpu_names))


def visible_gpus() -> list[str]:
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


def configure(train_cfg) -> DeviceInfo:
    """Decide for this machine and set Keras' global dtype policy accordingly."""
    import keras

    info = decide(train_cfg.mixed_precision, train_cfg.xla, train_cfg.strategy, visible_gpus())
    keras.mixed_precision.set_global_policy("mixed_float16" if info.mixed_precision else "float32")
    return info


def make_strategy(info: DeviceInfo):
    """The one place a tf.distribute strategy is created."""
    import tensorflow as tf

    if info.strategy == "mirrored":
        # Every local GPU; on a machine without one, every logical CPU device
        # (one unless TensorFlow was told to split the CPU, as the tests do).
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
            [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if info.strategy == "one-device":  # the first GPU, or the CPU
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if info.strategy == "multi-worker":
        # Reads TF_CONFIG; must exist before any other TensorFlow op runs.
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def reset_policy() -> None:
    """Back to float32 (after a run, so later model loads are not affected)."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
