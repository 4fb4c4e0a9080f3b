"""tf.distribute: two real workers on 127.0.0.1, MirroredStrategy over two CPU devices, TF_CONFIG.

The two-worker test runs the real ``python main.py train --strategy multi-worker``
twice, as two processes that find each other through TF_CONFIG on loopback ports,
and checks they trained ONE model: bit-identical final weights, only the chief's
run folder, and the non-chief's scratch folder gone.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.train.distributed import (SINGLE, Cluster, cluster_for, cluster_from_env, shard_records,
                              worker_scratch_dir)
from core.errors import ConfigError, UserError
from weights_fixture import make_bright_dark, tiny_config

ROOT = Path(__file__).resolve().parent.parent


def _tf_config(ports, index):
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def _free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


# -- the cluster, from TF_CONFIG -------------------------------------------------------------
def test_cluster_from_tf_config():
    c = cluster_from_env({"TF_CONFIG": _tf_config([1111, 2222], 1)})
    assert (c.workers, c.index, c.is_chief, c.multi) == (2, 1, False, True)
    assert c.addresses == ("127.0.0.1:1111", "127.0.0.1:2222")
    assert cluster_from_env({"TF_CONFIG": _tf_config([1111, 2222], 0)}).is_chief
    assert cluster_for("auto", {}) is SINGLE and cluster_for("mirrored", {}) is SINGLE


@pytest.mark.parametrize("value, words", [
    (None, "not set"),
    ("{not json", "not valid"),
    ('{"cluster": {"worker": ["a:1"]}}', "not valid"),
    (_tf_config([1, 2], 5), "outside the 2 workers"),
    ('{"cluster": {"worker": ["a:1"], "chief": ["b:2"]}, "task": {"type": "chief", "index": 0}}',
     "worker 0 acts as the chief"),
    ('{"cluster": {"worker": ["nohostport"]}, "task": {"type": "worker", "index": 0}}',
     "host:port"),
])
def test_a_bad_tf_config_gets_a_clear_message(value, words):
    env = {} if value is None else {"TF_CONFIG": value}
    with pytest.raises(ConfigError) as err:
        cluster_for("multi-worker", env)
    assert words in str(err.value) and "TF_CONFIG" in str(err.value)


def test_shards_are_equal_length_and_cover_every_image():
    records = list(range(10))
    shards = [shard_records(records, Cluster(workers=3, index=i)) for i in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4]  # padded: every worker runs the same steps
    assert set().union(*shards) == set(records)
    assert shards[0][:4] == [0, 3, 6, 9]
    assert shard_records(records, SINGLE) == records


def test_scratch_folder_is_beside_the_run_never_inside():
    p = worker_scratch_dir("/x/runs/r1", Cluster(workers=2, index=1))
    assert p == Path("/x/runs/.r1.worker-1")


def test_multi_worker_needs_a_named_run_folder(tmp_path, monkeypatch):
    from core.train.engine import train

    monkeypatch.setenv("TF_CONFIG", _tf_config([1111, 2222], 0))
    cfg = tiny_config(make_bright_dark(tmp_path / "data", per_class=4), "none")
    cfg.train.strategy = "multi-worker"
    with pytest.raises(UserError, match="--out"):
        train(cfg, None)


# -- two workers, one model --------------------------------------------------------------------
def test_two_workers_on_loopback_train_one_model(tmp_path, tiny_weights):
    data = make_bright_dark(tmp_path / "data", per_class=16, size=32)
    run = tmp_path / "runs" / "together"
    ports = _free_ports(2)
    args = [sys.executable, str(ROOT / "main.py"), "train", str(data),
            "--backbone", "MobileNetV3Small", "--image-size", "32", "--weights", tiny_weights,
            "--epochs", "2", "--fine-tune-epochs", "1", "--unfreeze", "12", "--batch-size", "4",
            "--augment", "none", "--strategy", "multi-worker", "--out", str(run)]
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=_tf_config(ports, index), TF_CPP_MIN_LOG_LEVEL="2")
        procs.append(subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    outs = []
    for p in procs:
        try:
            out, _ = p.communicate(timeout=420)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        outs.append(out)
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]

    digests = []
    for out in outs:
        lines = [ln for ln in out.splitlines() if "final weights digest" in ln]
        assert lines, out[-2000:]
        digests.append(lines[-1].split()[-1])
    assert digests[0] == digests[1], "the workers ended with different weights"
    assert "2 replicas" in outs[0] and "global batch 8 (4 per replica)" in outs[0]
    assert "this worker trains on 13 of 26 images" in outs[1]
    assert "the chief writes the run folder" in outs[1]

    # Only the chief wrote the run folder; the other worker's scratch state is gone.
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "completed" and info["workers"] == 2 and info["replicas"] == 2
    assert info["global_batch"] == 8 and info["weights_digest"] == digests[0]
    assert not worker_scratch_dir(run, Cluster(workers=2, index=1)).exists()
    assert sorted(p.name for p in run.parent.iterdir()) == ["together"]
    # Each phase ran ceil(13 / 4) = 4 steps per epoch on each worker (global batch 8).
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 3
    # The saved model is the model both workers hold.
    from core.model.model_files import load_model_file
    from core.train.checkpoint import weights_digest

    assert weights_digest(load_model_file(run / "model.keras")) == digests[0]


# -- MirroredStrategy over two CPU devices: global batch, checkpoints, resume ----------------
MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
    from core.events import CancelToken, EpochEnd, PhaseStarted
    from core.train.engine import resume_training, train
    from weights_fixture import make_bright_dark, tiny_config

    base = sys.argv[2]
    cfg = tiny_config(make_bright_dark(base + "/data", per_class=12, size=32), sys.argv[3],
                      epochs=2, fine_tune_epochs=1, batch_size=4)
    cfg.train.strategy, cfg.train.fast_head = "mirrored", False
    cfg.model.freeze.mode, cfg.model.freeze.top_n = "top_n", 12
    cancel = CancelToken()
    steps = []
    def stop_after_first_epoch(event):
        if isinstance(event, PhaseStarted):
            steps.append(event.steps_per_epoch)
        if isinstance(event, EpochEnd):
            cancel.cancel()
    first = train(cfg, base + "/run", listener=stop_after_first_epoch, cancel=cancel)
    second = resume_training(base + "/run", listener=lambda e: None)
    print("RESULT " + json.dumps({"first": first.status, "second": second.status,
                                  "steps": steps, "epochs": [h["global_epoch"] for h in second.history],
                                  "strategy": second.device.strategy}))
""")


def test_mirrored_over_two_devices_scales_the_batch_and_resumes(tmp_path, tiny_weights):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    # About 90 s alone; the margin is for a machine busy with the other tests (pytest-xdist).
    out = subprocess.run([sys.executable, str(script), str(ROOT), str(tmp_path), tiny_weights],
                         capture_output=True, text=True, timeout=560,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    result = json.loads(out.stdout.split("RESULT ", 1)[1])
    assert result["first"] == "stopped" and result["second"] == "completed"
    assert result["strategy"] == "mirrored"
    # 19 training images (24 with a 0.2 validation split), global batch 2 x 4 = 8: 3 steps.
    assert result["steps"] == [3]
    assert result["epochs"] == [1, 2, 3]  # the resumed run continued, it did not restart
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["replicas"] == 2 and info["global_batch"] == 8 and info["status"] == "completed"


def test_one_device_strategy_trains_the_fast_head_and_fine_tunes(tmp_path, tiny_weights):
    """What one GPU gets (OneDeviceStrategy, prefetching to the device), here on the CPU."""
    from core.train.engine import train

    cfg = tiny_config(make_bright_dark(tmp_path / "data", per_class=12, size=32), tiny_weights,
                      epochs=2, fine_tune_epochs=1, batch_size=4)
    cfg.train.strategy = "one-device"
    cfg.model.freeze.mode, cfg.model.freeze.top_n = "top_n", 12
    result = train(cfg, tmp_path / "run")
    assert result.status == "completed" and result.device.strategy == "one-device"
    assert [h["global_epoch"] for h in result.history] == [1, 2, 3]
    assert all(isinstance(h["loss"], float) for h in result.history)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["replicas"] == 1 and info["global_batch"] == 4 and info["weights_digest"]
