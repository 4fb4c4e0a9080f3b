"""Training on several devices or machines: the cluster, the input shards, and Keras' gaps.

The engine (:mod:`core.train.engine`) trains the same way whatever the strategy; this
module holds what differs when ``tf.distribute`` spreads one model over several
replicas:

* **Who am I.**  :func:`cluster_from_env` reads the standard ``TF_CONFIG``
  variable (the same one ``tf.distribute.MultiWorkerMirroredStrategy`` reads), so
  the very same ``train`` command runs on every machine and only ``TF_CONFIG``
  differs.  Worker 0 is the chief (TensorFlow's convention when there is no
  explicit "chief" task).
* **Who writes.**  Only the chief writes the run folder.  Every other worker
  keeps its resume state (checkpoints, the config it trained with) in a private
  scratch folder beside it, :func:`worker_scratch_dir`, deleted when the run
  completes; after a crash ``train --resume RUN`` on each machine finds it.
* **Batches.**  ``batch_size`` in the config is per replica, so the global batch
  scales with the replicas (:func:`global_batch`).  Each worker feeds
  ``batch_size x its local replicas`` per step from its own shard of the training
  images (:func:`shard_records`); shards are padded to equal length so every
  worker runs the same number of steps -- a worker that ran one step fewer would
  leave the others waiting in an all-reduce forever.  tf.data's own auto-sharding
  is switched off (:func:`unsharded`): our input is a Python generator, which it
  could only shard by producing every batch on every worker and dropping most.
* **Keras 3 gaps.**  ``Model.fit`` under ``MultiWorkerMirroredStrategy`` fails in
  Keras 3 (keras-team/keras#20585: it reduces a *tuple* of per-replica batches in
  ``_maybe_symbolic_build``, then reduces scalar metrics along axis 0).
  :func:`prepare_model` patches those two methods on the model instance; every
  other part of fit runs unchanged.
"""

from __future__ import annotations

import json
import math
import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

from core.errors import ConfigError


@dataclass(frozen=True)
class Cluster:
    """This process's place in a multi-worker cluster (one worker when not distributed)."""

    workers: int = 1
    index: int = 0
    addresses: tuple = ()

    @property
    def is_chief(self) -> bool:
        return self.index == 0

    @property
    def multi(self) -> bool:
        return self.workers > 1

    def describe(self) -> str:
        role = "chief" if self.is_chief else "worker"
        return f"worker {self.index} of {self.workers} ({role})"


SINGLE = Cluster()


def cluster_from_env(env: Optional[Mapping[str, str]] = None) -> Cluster:
    """Parse ``TF_CONFIG``; a clear :class:`ConfigError` when it is missing or malformed."""
    env = os.environ if env is None else env
    raw = env.get("TF_CONFIG", "").strip()
    example = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not raw:
        raise ConfigError("multi-worker training reads the cluster from the TF_CONFIG "
                          f"environment variable, which is not set; set it on every machine, "
                          f"e.g. {example} (index 1 on the second machine)")
    try:
        data = json.loads(raw)
        workers = list(data["cluster"]["worker"])
        task = data["task"]
        kind, index = str(task.get("type", "worker")), int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"TF_CONFIG is not valid ({exc.__class__.__name__}: {exc}); it must "
                          f"look like {example}") from None
    if "chief" in data["cluster"] or kind != "worker":
        raise ConfigError("TF_CONFIG: use only \"worker\" tasks (worker 0 acts as the chief); "
                          f"got task type {kind!r}")
    if not workers or not all(isinstance(w, str) and ":" in w for w in workers):
        raise ConfigError(f"TF_CONFIG: cluster.worker must list host:port addresses, got {workers}")
    if not 0 <= index < len(workers):
        raise ConfigError(f"TF_CONFIG: task index {index} is outside the {len(workers)} workers")
    return Cluster(workers=len(workers), index=index, addresses=tuple(workers))


def cluster_for(strategy_name: str, env: Optional[Mapping[str, str]] = None) -> Cluster:
    """The cluster for a configured strategy: TF_CONFIG for multi-worker, else one worker."""
    return cluster_from_env(env) if strategy_name == "multi-worker" else SINGLE


def worker_scratch_dir(run_dir: str | Path, cluster: Cluster) -> Path:
    """Where a non-chief worker keeps its resume state: ``.RUN.worker-N`` beside the run."""
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.worker-{cluster.index}"


def shard_records(records: Sequence, cluster: Cluster) -> list:
    """This worker's share of the training images, every share the same length.

    Worker ``i`` takes images ``i, i+W, i+2W, ...``; the shorter shards are padded
    with images from the start of the list, so with ``N`` images every worker
    holds ``ceil(N / W)`` and all run the same number of steps.
    """
    records = list(records)
    if not cluster.multi or not records:
        return records
    n, w = len(records), cluster.workers
    per = math.ceil(n / w)
    return [records[(cluster.index + k * w) % n] for k in range(per)]


def replicas(strategy) -> int:
    return int(getattr(strategy, "num_replicas_in_sync", 1) or 1)


def global_batch(per_replica: int, strategy) -> int:
    """One optimizer step's batch over all replicas (the config's batch is per replica)."""
    return int(per_replica) * replicas(strategy)


def worker_batch(per_replica: int, strategy, cluster: Cluster) -> int:
    """What one worker's input pipeline yields per step: its share of the global batch."""
    return global_batch(per_replica, strategy) // max(1, cluster.workers)


def unsharded(dataset):
    """Turn tf.data's auto-sharding off: we shard by hand (see :func:`shard_records`)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.with_options(options)


def is_distributed(strategy) -> bool:
    """True for any real tf.distribute strategy (not TensorFlow's implicit default one)."""
    return strategy is not None and type(strategy).__name__ != "_DefaultDistributionStrategy"


def prepare_model(model, strategy) -> None:
    """Patch ``model`` so ``fit``/``evaluate`` work under a distribution strategy (keras#20585).

    1. ``_maybe_symbolic_build`` reduces the first batch with ``strategy.reduce``,
       which does not accept the ``(images, labels)`` tuple; we take the first
       local replica's tensors instead -- only their shapes and dtypes are used.
    2. ``reduce_per_replica`` (``reduction="auto"``) reduces each step's logs with
       ``strategy.reduce("MEAN", v, axis=0)`` on a multi-worker strategy, which
       fails on scalars.  Metric variables are synchronised across replicas, so
       every replica holds the same value: shaping it ``[1]`` inside the replica
       makes that mean exact, and :func:`scalar_logs` turns it back.
    Harmless under the default strategy (nothing is patched there).
    """
    if not is_distributed(strategy):
        return
    import tensorflow as tf
    from keras.src import tree

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                data_batch = tree.map_structure(
                    lambda v: (strategy.experimental_local_results(v)[0]
                               if isinstance(v, tf.distribute.DistributedValues) else v), batch)
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    original = model.get_metrics_result

    def get_metrics_result(self):
        result = original()
        if not tf.distribute.in_cross_replica_context():
            result = {k: tf.reshape(v, [1]) for k, v in result.items()}
        return result

    model._maybe_symbolic_build = types.MethodType(maybe_symbolic_build, model)
    model.get_metrics_result = types.MethodType(get_metrics_result, model)


def scalar_logs(logs: Optional[Mapping]) -> dict:
    """Keras logs as plain floats (a distributed step hands back ``[1]``-shaped values)."""
    import numpy as np

    out = {}
    for k, v in (logs or {}).items():
        a = np.asarray(v, dtype=np.float64).reshape(-1)
        out[k] = float(a[0]) if a.size else float("nan")
    return out


def check_same_data(strategy, cluster: Cluster, fingerprint: str) -> None:
    """Stop with a clear message when the workers do not see the same images.

    Every worker computes the dataset fingerprint (names, classes, sizes); a
    min/max all-reduce of it tells whether they agree.  Training on different
    folders would silently average two different problems.
    """
    if not cluster.multi:
        return
    import tensorflow as tf

    from core.errors import DataError

    # 40 bits of the fingerprint, one float each: the replica mean of a bit is
    # 0 or 1 only when every worker has the same bit, so every worker can tell.
    h = int(fingerprint[:10].ljust(10, "0"), 16)
    bits = tf.constant([float((h >> i) & 1) for i in range(40)], tf.float32)
    mean = strategy.reduce("MEAN", strategy.run(lambda: tf.identity(bits)), axis=None).numpy()
    if not ((mean == 0.0) | (mean == 1.0)).all():
        raise DataError("the workers see different images (their dataset fingerprints differ): "
                        "every machine needs the same data folder with the same files")
