"""Run history: the SQLite index over run folders survives restarts, damage and deletes.

Most tests write small but complete run folders through the RunFolder API (no
TensorFlow); one checks that a real training run (the session ``trained_run``)
was indexed by training itself.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import StudioConfig
from core.errors import UserError
from core.appdirs import default_runs_dir
from core.runs.history import RunHistory, default_db_path
from core.runs.summary import config_diff
from core.runs.folder import RunFolder

ROOT = Path(__file__).resolve().parent.parent
SESSION_DATA_DIR = Path(os.environ["FTS_DATA_DIR"])  # conftest's, before any per-test override

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def make_run(path: Path, *, backbone="MobileNetV3Small", lr=1e-3, accs=(0.5, 0.7, 0.8),
             status="completed", created=None, images=40, classes=("bright", "dark")) -> Path:
    """A complete run folder as training writes it (config, labels, history, run, metrics)."""
    rf = RunFolder(path)
    rf.path.mkdir(parents=True)
    cfg = StudioConfig()
    cfg.data.data_dir = str(path.parent / "data")
    cfg.model.backbone = backbone
    cfg.model.image_size = 32
    cfg.train.learning_rate = lr
    rf.save_config(cfg)
    rf.write_json("labels.json", list(classes))
    rf.write_history([{"phase": "head", "epoch": i + 1, "global_epoch": i + 1, "loss": 1.0 - a,
                       "accuracy": a, "val_loss": 1.1 - a, "val_accuracy": a - 0.05,
                       "learning_rate": lr, "seconds": 2.0} for i, a in enumerate(accs)])
    rf.write_json("run.json", {"status": status, "created": created or time.time(),
                               "finished": (created or time.time()) + 6, "seconds": 6.0,
                               "images": images, "classes": list(classes),
                               "dataset_fingerprint": "abc123", "best_epoch": len(accs),
                               "device": {"kind": "CPU", "names": []}})
    rf.write_json("metrics.json", {"accuracy": accs[-1] - 0.05, "macro_f1": 0.7,
                                   "classes": list(classes)})
    return rf.path


def test_record_list_and_survive_restart(tmp_path):
    db = tmp_path / "h.sqlite"
    a = make_run(tmp_path / "runs" / "a", created=1000.0)
    b = make_run(tmp_path / "runs" / "b", backbone="EfficientNetB0", created=2000.0, images=10)
    h = RunHistory(db)
    ia, ib = h.record_run(a), h.record_run(b)
    assert h.record_run(a) == ia  # re-recording updates, never duplicates

    again = RunHistory(db)  # a new process would see the same
    runs = again.list_runs()
    assert [r.id for r in runs] == [ib, ia]  # newest first
    assert [r.id for r in again.list_runs("images", descending=False)] == [ib, ia]
    r = again.get(ia)
    assert (r.backbone, r.images, r.status, r.dataset_fingerprint) == (
        "MobileNetV3Small", 40, "completed", "abc123")
    assert r.accuracy == pytest.approx(0.75) and r.macro_f1 == pytest.approx(0.7)
    assert r.best_val_accuracy == pytest.approx(0.75) and r.device["kind"] == "CPU"
    assert r.config["train"]["learning_rate"] == 1e-3
    assert [e["val_accuracy"] for e in again.epochs(ia)] == pytest.approx([0.45, 0.65, 0.75])
    assert [x.id for x in again.list_runs(text="efficientnet")] == [ib]
    assert again.list_runs(text="nothing-like-this") == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    with pytest.raises(UserError, match="sort"):
        again.list_runs("id; DROP TABLE runs")


def test_compare_shows_changed_settings_and_both_histories(tmp_path):
    h = RunHistory(tmp_path / "h.sqlite")
    ia = h.record_run(make_run(tmp_path / "a", lr=1e-3))
    ib = h.record_run(make_run(tmp_path / "b", lr=5e-4, accs=(0.6, 0.9)))
    cmp = h.compare(ia, ib)
    assert ("train.learning_rate", 1e-3, 5e-4) in cmp.diff
    assert all(k != "model.backbone" for k, _, _ in cmp.diff)
    assert len(cmp.history_a) == 3 and len(cmp.history_b) == 2
    assert config_diff({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}) == [("a.c", None, 2)]


def test_corrupted_database_is_moved_aside_and_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("FTS_DATA_DIR", str(tmp_path / "data"))
    default = make_run(default_runs_dir() / "gui-run")
    elsewhere = make_run(tmp_path / "cli-runs" / "x")
    h = RunHistory()
    h.record_run(default)
    h.record_run(elsewhere)
    db = default_db_path()
    db.write_bytes(b"this is not a database at all " * 200)

    h2 = RunHistory()  # the app still starts
    assert h2.recovered_from is not None and h2.recovered_from.exists()
    assert h2.recovered_from.name.startswith("history.sqlite.corrupt-")
    assert [r.path for r in h2.list_runs()] == [str(default.resolve())]
    h2.rebuild_index([tmp_path / "cli-runs"])
    assert {r.name for r in h2.list_runs()} == {"gui-run", "x"}

    # damage while open: the next query recovers instead of failing
    db.write_bytes(b"\x00garbage" * 1000)
    assert {r.name for r in h2.list_runs()} >= {"gui-run"}


def test_rebuild_drops_vanished_folders_and_finds_new_ones(tmp_path):
    h = RunHistory(tmp_path / "h.sqlite")
    gone = make_run(tmp_path / "runs" / "gone")
    h.record_run(gone)
    import shutil

    shutil.rmtree(gone)
    make_run(tmp_path / "runs" / "nested" / "new")
    assert h.rebuild_index([tmp_path / "runs"]) == 1
    assert [r.name for r in h.list_runs()] == ["new"]


def test_rebuild_lists_a_run_folder_that_lost_its_config_or_labels_as_damaged(tmp_path):
    """Such a folder (run.json, model, history still there) dropped out of the list on a
    rescan without a word, then with only a warning (a review): it is listed, marked with
    what it lost, from what can still be read; put back, it is whole again."""
    from core.events import Log

    h = RunHistory(tmp_path / "h.sqlite")
    lost = make_run(tmp_path / "runs" / "lost", created=1000.0)
    h.record_run(lost)
    make_run(tmp_path / "runs" / "fine", created=2000.0)
    never = make_run(tmp_path / "runs" / "never", created=500.0)  # never indexed whole
    (lost / "config.json").unlink()
    (never / "labels.json").unlink()
    (never / "config.json").unlink()
    (tmp_path / "runs" / "notes").mkdir()  # a folder of something else: not a run, not said
    seen = []
    assert h.rebuild_index([tmp_path / "runs"], listener=seen.append) == 3
    said = sorted(e.message for e in seen if isinstance(e, Log) and e.level == "warning")
    assert said == [f"{lost.resolve()}: a run folder without its config.json; it is listed as "
                    "damaged, and opening, resuming, evaluating and exporting it need the "
                    "file: put it back from a copy of the run, or delete the run (the list "
                    "shows what its run.json and history.csv record)",
                    f"{never.resolve()}: a run folder without its config.json and labels.json; "
                    "it is listed as damaged, and opening, resuming, evaluating and exporting "
                    "it need those files: put them back from a copy of the run, or delete the "
                    "run "
                    "(the list shows what its run.json and history.csv record)"]
    runs = {r.name: r for r in h.list_runs()}
    assert [r.name for r in h.list_runs()] == ["fine", "lost", "never"]
    assert runs["lost"].missing == ["config.json"] and runs["fine"].missing == []
    assert runs["never"].missing == ["config.json", "labels.json"]
    assert runs["never"].classes == ["bright", "dark"]  # run.json's, the labels being gone
    assert runs["lost"].created == 1000.0 and len(h.epochs(runs["lost"].id)) == 3
    assert runs["never"].to_dict()["missing_files"] == ["config.json", "labels.json"]
    make_run(tmp_path / "copy", created=1000.0)
    os.replace(tmp_path / "copy" / "config.json", lost / "config.json")  # put back
    assert h.get(runs["lost"].id).missing == []


def test_delete_run_only_deletes_files_when_asked_and_only_run_folders(tmp_path):
    h = RunHistory(tmp_path / "h.sqlite")
    keep = make_run(tmp_path / "keep")
    kill = make_run(tmp_path / "kill")
    ik, ix = h.record_run(keep), h.record_run(kill)
    h.delete_run(ik)
    assert keep.exists() and h.find_id(keep) is None
    h.delete_run(ix, delete_files=True)
    assert not kill.exists() and h.list_runs() == []

    damaged = make_run(tmp_path / "damaged")
    idamaged = h.record_run(damaged)
    (damaged / "labels.json").unlink()  # a run that lost a file is still a run: deleted
    h.delete_run(idamaged, delete_files=True)
    assert not damaged.exists() and h.list_runs() == []

    fake = make_run(tmp_path / "fake")
    ifake = h.record_run(fake)
    (fake / "labels.json").unlink()
    (fake / "run.json").unlink()  # no longer a run folder: its files are not ours to delete
    with pytest.raises(UserError, match="not a run folder"):
        h.delete_run(ifake, delete_files=True)
    assert fake.exists() and h.get(ifake)


def test_exports_table(tmp_path):
    h = RunHistory(tmp_path / "h.sqlite")
    run = make_run(tmp_path / "r")
    h.record_export(run, "tflite", run / "model.tflite", 1234, {"parity": 1.0})
    rid = h.find_id(run)
    assert [(e["format"], e["size_bytes"], e["details"]) for e in h.exports(rid)] == [
        ("tflite", 1234, {"parity": 1.0})]


def test_cli_runs_json_and_rebuild_without_tensorflow(tmp_path):
    data = tmp_path / "data"
    make_run(data / "runs" / "first", created=1000.0)
    make_run(tmp_path / "other" / "second", created=2000.0, backbone="EfficientNetB0")
    env = {**os.environ, "FTS_DATA_DIR": str(data)}
    code = ("import sys, runpy; sys.argv = ['main.py'] + sys.argv[1:]; "
            "runpy.run_path('main.py', run_name='__main__')")
    probe = ("import sys, runpy; sys.path.insert(0, '.'); from core.cli import main; "
             "rc = main(sys.argv[1:]); print('TF', 'tensorflow' in sys.modules); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", probe, "runs", "--json", "--rebuild",
                          str(tmp_path / "other")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    body, tf_line = out.stdout.rsplit("TF", 1)
    assert tf_line.strip() == "False"
    rows = json.loads(body)
    assert [r["name"] for r in rows] == ["second", "first"]
    assert rows[0]["backbone"] == "EfficientNetB0" and rows[0]["accuracy"] == pytest.approx(0.75)
    text = subprocess.run([sys.executable, "-c", code, "runs"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert text.returncode == 0, text.stderr
    assert "EfficientNetB0" in text.stdout and "75.0%" in text.stdout and "completed" in text.stdout


def test_training_records_the_run(trained_run, tmp_path):
    """The session's real run was indexed by training itself, in the session's data dir."""
    h = RunHistory(SESSION_DATA_DIR / "history.sqlite")
    rid = h.find_id(trained_run)
    assert rid is not None
    r = h.get(rid)
    assert r.status == "completed" and r.backbone == "MobileNetV3Small"
    assert r.accuracy is not None and r.accuracy >= 0.8
    assert len(h.epochs(rid)) == len(RunFolder(trained_run).history()) > 0
    assert r.dataset_fingerprint == RunFolder(trained_run).run_info().dataset_fingerprint


def test_history_failure_never_fails_training(tmp_path, monkeypatch):
    from core.events import Log
    from core.runs.history import record_run_safely

    monkeypatch.setenv("FTS_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "history.sqlite").mkdir()  # a folder where the file should be
    events = []
    assert record_run_safely(make_run(tmp_path / "r"), events.append) is None
    assert any(isinstance(e, Log) and e.level == "warning" for e in events)


def test_exports_of_a_run_are_recorded_and_history_trouble_only_warns(trained_run, tmp_path,
                                                                     monkeypatch):
    """export_model lists each exported format under its run; a broken history never fails it."""
    from core.config import ExportConfig
    from core.events import Log
    from core.export.exporter import export_model

    monkeypatch.setenv("FTS_DATA_DIR", str(tmp_path / "data"))
    report = export_model(trained_run, "keras", tmp_path / "out", ExportConfig(parity_images=4),
                          latency_runs=2)
    assert report.ok and report.written
    h = RunHistory()
    rid = h.find_id(trained_run)
    assert rid is not None  # the run is indexed on its first export
    [e] = h.exports(rid)
    exported = (tmp_path / "out" / "model.keras").resolve()
    assert (e["format"], e["path"], e["size_bytes"]) == ("keras", str(exported),
                                                         exported.stat().st_size)
    assert e["details"]["status"] == "ok" and e["details"]["trusted"] is True
    assert e["details"]["export_dir"] == str((tmp_path / "out").resolve())
    assert e["details"]["parity"]["passed"] is True

    events = []
    monkeypatch.setenv("FTS_DATA_DIR", str(tmp_path / "broken"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "history.sqlite").mkdir()  # a folder where the database should be
    report = export_model(trained_run, "keras", tmp_path / "out2", ExportConfig(parity_images=4),
                          listener=events.append, latency_runs=2)
    assert report.ok and (tmp_path / "out2" / "model.keras").is_file()
    assert any(isinstance(e, Log) and e.level == "warning" and "history" in e.message
               for e in events)
    assert len(RunHistory(tmp_path / "data" / "history.sqlite").exports(rid)) == 1


def test_delete_refuses_a_folder_holding_files_a_run_does_not_write(tmp_path):
    """A folder swept in by 'runs --rebuild' that merely looks like a run keeps the user's files."""
    h = RunHistory(tmp_path / "h.sqlite")
    mixed = make_run(tmp_path / "project")
    (mixed / "deploy.py").write_text("mine")
    (mixed / "testimgs").mkdir()
    rid = h.record_run(mixed)
    with pytest.raises(UserError, match=r"holds files a run does not write \(deploy.py, "
                                        r"testimgs\)"):
        h.delete_run(rid, delete_files=True)
    assert (mixed / "deploy.py").read_text() == "mine" and (mixed / "config.json").exists()
    # a run folder reached through a link: the link is refused, the target untouched
    real = make_run(tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(real)
    lid = h.record_run(real)
    with h._connect() as conn, conn:
        conn.execute("UPDATE runs SET path = ? WHERE id = ?", (str(link), lid))
    with pytest.raises(UserError, match="is a link"):
        h.delete_run(lid, delete_files=True)
    assert (real / "config.json").exists()
    # a pure run folder with a link inside: the link goes, its target stays
    run = make_run(tmp_path / "run")
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (run / "model.keras").symlink_to(outside)
    (run / "logs").mkdir()
    (run / "logs" / "pointer").symlink_to(outside)  # not an event file: refused, kept
    with pytest.raises(UserError, match=r"\(logs/pointer\)"):
        h.delete_run(h.record_run(run), delete_files=True)
    (run / "logs" / "pointer").unlink()
    (run / "logs" / "events.out.tfevents.1.host.1.v2").symlink_to(outside)
    h.delete_run(h.record_run(run), delete_files=True)
    assert not run.exists() and outside.read_text() == "keep"


def test_bad_json_in_a_row_or_a_dropped_table_rebuilds_the_index(tmp_path, monkeypatch):
    monkeypatch.setenv("FTS_DATA_DIR", str(tmp_path / "data"))
    run = make_run(default_runs_dir() / "r1")
    h = RunHistory()
    rid = h.record_run(run)
    with h._connect() as conn, conn:
        conn.execute("UPDATE runs SET config = '{not json' WHERE id = ?", (rid,))
    assert [r.name for r in h.list_runs()] == ["r1"]  # set aside and rebuilt
    assert h.recovered_from is not None and h.recovered_from.exists()
    with h._connect() as conn, conn:
        conn.execute("DROP TABLE exports")
        conn.execute("DROP TABLE epochs")
        conn.execute("DROP TABLE runs")
    assert [r.name for r in RunHistory().list_runs()] == ["r1"]


def test_a_read_only_history_gives_one_line(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes read-only files")
    db = tmp_path / "ro" / "h.sqlite"
    h = RunHistory(db)
    os.chmod(db, 0o444)
    os.chmod(db.parent, 0o555)
    try:
        with pytest.raises(UserError, match="h.sqlite: the run history cannot be used.*writable"):
            h.record_run(make_run(tmp_path / "r"))
    finally:
        os.chmod(db.parent, 0o755)
        os.chmod(db, 0o644)


def test_delete_looks_into_checkpoint_and_logs_and_ignores_file_browser_litter(tmp_path):
    """A note in checkpoint/ went with the run (only top-level names were checked), and a
    .DS_Store made the run impossible to delete."""
    h = RunHistory(tmp_path / "h.sqlite")
    run = make_run(tmp_path / "run")
    ckpt, events = run / "checkpoint", run / "logs" / "head" / "train"
    ckpt.mkdir()
    events.mkdir(parents=True)
    (ckpt / "state.json").write_text("{}")
    (ckpt / "notes.txt").write_text("mine")
    (events / "events.out.tfevents.1.host.1.v2").write_bytes(b"x")
    (events / "plot.png").write_bytes(b"mine")
    for litter in (run / ".DS_Store", run / "Thumbs.db", ckpt / ".DS_Store",
                   # macOS's metadata files on exFAT/FAT/SMB made the run undeletable
                   run / "._config.json", ckpt / "._state.json", run / "._.DS_Store",
                   events / "._events.out.tfevents.1.host.1.v2"):
        litter.write_bytes(b"")
    (run / "._notes.txt").write_bytes(b"")  # metadata of a file the run never wrote
    rid = h.record_run(run)
    with pytest.raises(UserError,
                       match=r"\(\._notes.txt, checkpoint/notes.txt, logs/head/train/plot.png\)"):
        h.delete_run(rid, delete_files=True)
    assert (ckpt / "notes.txt").exists() and (events / "plot.png").exists()
    (ckpt / "notes.txt").unlink()
    (events / "plot.png").unlink()
    (run / "._notes.txt").unlink()
    h.delete_run(rid, delete_files=True)
    assert not run.exists()


def test_deleting_a_run_deletes_the_backbone_carried_over_for_it_alone(tmp_path):
    """"Update the model" / "Fine-tune from this run" save the old run's backbone under
    start-weights/ for the new run; it goes with the last run that names it, never a user's file."""
    from core.appdirs import start_weights_dir

    h = RunHistory(tmp_path / "h.sqlite")
    start_weights_dir().mkdir(parents=True)
    carried = start_weights_dir() / "old-run-1234abcd.weights.h5"
    carried.write_bytes(b"weights")
    own = tmp_path / "mine.weights.h5"  # the user's own file: never touched
    own.write_bytes(b"weights")
    ids = {}
    for name, weights in (("a", carried), ("b", carried), ("c", own)):
        run = make_run(tmp_path / "runs" / name)
        cfg = RunFolder(run).load_config()
        cfg.model.weights = str(weights)
        RunFolder(run).save_config(cfg)
        ids[name] = h.record_run(run)
    h.delete_run(ids["a"], delete_files=True)
    assert carried.is_file()  # run b still names it
    h.delete_run(ids["b"])  # forgotten, files kept: its run folder may still need the weights
    assert carried.is_file()
    h.record_run(tmp_path / "runs" / "b")
    h.delete_run(h.find_id(tmp_path / "runs" / "b"), delete_files=True)
    assert not carried.exists()
    h.delete_run(ids["c"], delete_files=True)
    assert own.is_file()


def test_the_filter_finds_non_ascii_class_names_and_no_match_is_not_no_runs(tmp_path, capsys,
                                                                            monkeypatch):
    """'runs --filter café' matched nothing (the column holds caf\\u00e9, which matched
    'u00e9'), and said "no runs yet: train one" while runs existed."""
    from core.cli import main

    h = RunHistory(tmp_path / "h.sqlite")
    ia = h.record_run(make_run(tmp_path / "runs" / "a", classes=("Café ☕", "日本語")))
    h.record_run(make_run(tmp_path / "runs" / "b"))
    assert [r.id for r in h.list_runs(text="café")] == [ia]
    assert [r.id for r in h.list_runs(text="CAFÉ")] == [ia]
    assert [r.id for r in h.list_runs(text="日本")] == [ia]
    assert h.list_runs(text="u00e9") == []
    data = tmp_path / "appdata"
    make_run(data / "runs" / "c")
    monkeypatch.setenv("FTS_DATA_DIR", str(data))
    assert main(["runs", "--rebuild", str(data / "runs"), "--filter", "zebra"]) == 0
    out = capsys.readouterr().out
    assert "no run matches 'zebra'" in out and "no runs yet" not in out


def test_a_running_run_whose_trainer_is_gone_shows_as_interrupted(tmp_path, capsys,
                                                                 monkeypatch):
    """kill -9, a power cut: nothing writes "stopped", and the run showed "running" for good."""
    import socket

    from core.cli import main

    monkeypatch.setenv("FTS_DATA_DIR", str(tmp_path / "appdata"))
    run = make_run(tmp_path / "appdata" / "runs" / "killed", status="running")
    h = RunHistory()
    h.record_run(run)
    (summary,) = h.list_runs()
    assert summary.shown_status == "interrupted"
    assert main(["runs"]) == 0 and "interrupted" in capsys.readouterr().out
    # the filter and the report read the status as shown ("runs --filter interrupted" found
    # nothing, "--filter running" the run; the report said "Status: running")
    assert h.list_runs(text="interrupted")  # (the folder's path holds "running")
    from core.report.gather import gather

    assert gather(run).info["status"] == "interrupted"
    RunFolder(run).lock_path.write_text(json.dumps(
        {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}))
    assert h.list_runs()[0].shown_status == "running"  # a live trainer holds it
    assert not h.list_runs(text="interrupted") and gather(run).info["status"] == "running"


def test_a_run_is_listed_from_its_first_batch(tmp_path, tiny_weights):
    """A run was indexed only when it finished or was abandoned: killed with kill -9, it was
    missing from `runs` until --rebuild."""
    from core.events import BatchEnd
    from core.train.engine import train
    from weights_fixture import make_bright_dark, tiny_config

    cfg = tiny_config(make_bright_dark(tmp_path / "data", per_class=8, size=32), tiny_weights)
    seen = []

    def listener(event):
        if isinstance(event, BatchEnd) and not seen:
            history = RunHistory()
            seen.append(history.get(history.find_id(tmp_path / "run")).shown_status)

    train(cfg, tmp_path / "run", listener=listener)
    assert seen == ["running"]


# ---------------------------------------------------------------- one damaged run, not the list
def test_a_cut_short_history_row_names_the_file_and_the_list_keeps_every_run(tmp_path):
    """A history.csv row with too few fields raised a bare TypeError that emptied the list."""
    db = tmp_path / "h.sqlite"
    good = make_run(tmp_path / "runs" / "good", created=1000.0)
    bad = make_run(tmp_path / "runs" / "bad", created=2000.0)
    rf = RunFolder(bad)
    text = rf.history_path.read_text(encoding="utf-8").splitlines()
    rf.history_path.write_text("\n".join(text[:2] + ["head,3"]) + "\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        rf.history()
    assert str(rf.history_path) in str(err.value) and "line 3" in str(err.value)
    h = RunHistory(db)
    assert h.rebuild_index([tmp_path / "runs"]) == 2
    assert sorted(Path(r.path).name for r in h.list_runs()) == ["bad", "good"]
    assert h.epochs(h.find_id(bad)) == [] and len(h.epochs(h.find_id(good))) == 3


@pytest.mark.parametrize("value", ["n/a", {"top1": 0.9}, True])
def test_a_hand_edited_figure_in_metrics_json_is_left_out_not_fatal(tmp_path, value):
    """"accuracy": "n/a" crashed the Runs table; an object made every rescan fail."""
    run = make_run(tmp_path / "runs" / "a")
    rf = RunFolder(run)
    rf.write_json("metrics.json", {"accuracy": value, "macro_f1": "high"})
    h = RunHistory(tmp_path / "h.sqlite")
    assert h.rebuild_index([tmp_path / "runs"]) == 1
    r = h.list_runs()[0]
    assert r.accuracy is None and r.macro_f1 is None and r.backbone == "MobileNetV3Small"


# ---------------------------------------------------------------- deleting a run
def test_a_run_being_trained_is_not_deleted(tmp_path):
    from core.runs.lock import acquire, release

    run = make_run(tmp_path / "runs" / "a", status="running")
    h = RunHistory(tmp_path / "h.sqlite")
    rid = h.record_run(run)
    acquire(RunFolder(run))  # this process trains it
    try:
        with pytest.raises(UserError) as err:
            h.delete_run(rid, delete_files=True)
        assert f"process {os.getpid()}" in str(err.value) and "is being trained by" in \
            str(err.value)
        assert (run / "config.json").exists() and h.find_id(run) == rid
    finally:
        release(RunFolder(run))
    h.delete_run(rid, delete_files=True)
    assert not run.exists() and h.find_id(run) is None


def test_a_busy_index_deletes_no_file(tmp_path, monkeypatch):
    """The folder went first, then the index refused ("database is locked"): the run's files
    were gone and its row stayed."""
    import core.runs.history as history_module

    run = make_run(tmp_path / "runs" / "a")
    h = RunHistory(tmp_path / "h.sqlite")
    rid = h.record_run(run)
    real = sqlite3.connect
    monkeypatch.setattr(history_module.sqlite3, "connect",
                        lambda path, timeout=5.0: real(path, timeout=0.2))
    other = real(str(h.db_path))
    other.execute("BEGIN IMMEDIATE")  # another window or 'runs --rebuild' writing: reads still work
    try:
        with pytest.raises(UserError, match="database is locked"):
            h.delete_run(rid, delete_files=True)
        assert (run / "config.json").exists() and (run / "history.csv").exists()
    finally:
        other.rollback()
        other.close()
    h.delete_run(rid, delete_files=True)
    assert not run.exists()


# ---------------------------------------------------------------- a drive that is not there now
def test_rescan_keeps_runs_on_a_drive_that_is_not_connected(tmp_path):
    """One Rescan while a USB drive was out dropped its runs and their export records."""
    drive = tmp_path / "usb"
    run = make_run(drive / "runs" / "a")
    h = RunHistory(tmp_path / "h.sqlite")
    rid = h.record_run(run)
    h.record_export(run, "onnx", run / "export" / "model.onnx", 10)
    gone = make_run(tmp_path / "local" / "b")  # deleted on a drive that is there: dropped
    h.record_run(gone)
    drive.rename(tmp_path / "usb-unplugged")
    import shutil

    shutil.rmtree(gone)
    assert h.rebuild_index() == 1
    kept = h.list_runs()
    assert [r.id for r in kept] == [rid] and not kept[0].exists
    (tmp_path / "usb-unplugged").rename(drive)
    h.rebuild_index()
    assert h.find_id(run) == rid and [e["format"] for e in h.exports(rid)] == ["onnx"]


def test_a_run_cut_off_after_some_epochs_is_told_how_far_it_got(tmp_path):
    """A run killed after six epochs (no model.keras: it is written when a run ends) was
    "stopped before its first epoch ended" on the Runs and Evaluate pages (an upgrade review)."""
    from core.runs.folder import RunFolder
    from core.runs.unfinished import without_model

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    said = without_model(run.path, "stopped")
    # A review: a run stopped in its first epoch was to be "resumed on the Train step", whose
    # Resume is off for it (nothing to resume): it says to start a new run instead
    assert "before its first epoch ended; nothing of it can be resumed" in said
    assert "until a new run is trained (Start training on the Train step" in said
    assert "resumed on the Train step" not in said
    run.write_history([{"phase": "head", "epoch": i, "global_epoch": i, "loss": 1.0,
                        "accuracy": 0.5, "val_loss": 1.0, "val_accuracy": 0.5,
                        "learning_rate": 1e-3, "seconds": 1.0} for i in range(1, 7)])
    run.checkpoint.state.parent.mkdir()
    run.checkpoint.state.write_text("{}")  # written after every finished epoch
    said = without_model(run.path, "interrupted")
    assert "cut off after 6 epochs" in said and "until it is resumed on the Train step" in said
    assert "still training" in without_model(run.path, "running")
    assert "model.keras is missing" in without_model(run.path, "completed")


def test_the_evaluate_page_tells_a_run_still_training_to_wait_not_to_resume(tmp_path):
    from core.runs.folder import RunFolder
    from core.runs.lock import acquire, release
    from gui.pages.evaluate.no_results import no_results_text

    run = RunFolder(tmp_path / "live")
    run.path.mkdir()
    run.update_run_info(status="running")
    run.write_history([{"phase": "head", "epoch": i, "global_epoch": i, "loss": 1.0,
                        "accuracy": 0.5, "val_loss": 1.0, "val_accuracy": 0.5,
                        "learning_rate": 1e-3, "seconds": 1.0} for i in range(1, 4)])
    acquire(run)  # a live trainer holds it
    try:
        assert no_results_text(str(run.path)).endswith("yet: it is still training.")
    finally:
        release(run)
    run.checkpoint.state.parent.mkdir()
    run.checkpoint.state.write_text("{}")  # written after every finished epoch
    said = no_results_text(str(run.path))  # its trainer gone: interrupted
    assert "cut off after 3 epochs" in said and "Resume it on the Train step" in said


def test_a_renamed_or_moved_run_keeps_its_exports_on_rebuild(tmp_path):
    """Renaming a run folder then Rescan dropped its row and its export records (the
    exported files still on disk): the Runs page and the report said "No exports
    recorded" (a review).  The renamed folder is the same run (created at the same moment
    with the same config); a copy beside its original does not take the original's."""
    import shutil

    from core.events import Log

    h = RunHistory(tmp_path / "h.sqlite")
    base = make_run(tmp_path / "runs" / "base", created=1000.0)
    ren1 = tmp_path / "runs" / "ren1"
    shutil.copytree(base, ren1)  # a copy: same created and config
    other = make_run(tmp_path / "local" / "other")
    h.rebuild_index([tmp_path / "runs", other])
    rid, base_id = h.find_id(ren1), h.find_id(base)
    h.record_export(ren1, "keras", tmp_path / "exp" / "model.keras", 10)
    h.record_export(other, "onnx", tmp_path / "exp" / "model.onnx", 10)
    ren1.rename(tmp_path / "runs" / "ren1_renamed")
    seen = []
    h.rebuild_index([tmp_path / "runs"], listener=seen.append)
    renamed = tmp_path / "runs" / "ren1_renamed"
    assert h.find_id(renamed) == rid and h.find_id(base) == base_id
    assert [e["format"] for e in h.exports(rid)] == ["keras"]
    assert not [e for e in seen if isinstance(e, Log) and e.level == "warning"]
    # The whole runs folder moved: both runs keep their rows (not "not connected" ones).
    (tmp_path / "runs").rename(tmp_path / "moved_runs")
    shutil.rmtree(other)  # deleted: dropped, with its export, and that is said
    assert h.rebuild_index([tmp_path / "moved_runs"], listener=seen.append) == 2
    assert h.find_id(tmp_path / "moved_runs" / "ren1_renamed") == rid
    assert h.find_id(tmp_path / "moved_runs" / "base") == base_id
    assert [e["format"] for e in h.exports(rid)] == ["keras"]
    said = [e.message for e in seen if isinstance(e, Log) and e.level == "warning"]
    assert said == ["1 export record of runs no longer found dropped from the run history "
                    "(the exported files are not touched)"]


def test_a_rebuild_says_a_damaged_history_in_its_own_warnings(tmp_path, caplog):
    """runs --rebuild printed 'WARNING finetune_studio: indexing … without its history' as a
    logger line among its own "warning: …" lines (a review)."""
    from core.events import Log

    run = make_run(tmp_path / "runs" / "a")
    with open(run / "history.csv", "a", encoding="utf-8") as fh:
        fh.write("head,4,4,xx,,,,,\n")
    seen = []
    RunHistory(tmp_path / "h.sqlite").rebuild_index([tmp_path / "runs"], listener=seen.append)
    said = [e.message for e in seen if isinstance(e, Log) and e.level == "warning"]
    assert len(said) == 1 and said[0].startswith(f"{run / 'history.csv'}, line 5: not a history")
    assert not [r for r in caplog.records if "without its history" in r.getMessage()]


def test_runs_lists_a_damaged_run_folder_as_the_window_does(tmp_path, capsys, monkeypatch):
    """'runs --rebuild' warned of a run folder that lost its labels.json, then left it out of
    the listing (a review): it is listed, marked damaged, with what to do under the table."""
    from core.cli import main

    monkeypatch.setenv("FTS_DATA_DIR", str(tmp_path / "appdata"))
    run = make_run(tmp_path / "appdata" / "runs" / "lost")
    (run / "labels.json").unlink()
    assert main(["runs", "--rebuild"]) == 0
    captured = capsys.readouterr()
    assert "warning: " in captured.err and "lost: a run folder without its labels.json" \
        in captured.err
    row = next(line for line in captured.out.splitlines() if str(run.resolve()) in line
               and not line.startswith("note:"))
    assert row.endswith("(damaged: no labels.json)") and "completed" in row
    assert (f"note: {run.resolve()}: a run folder without its labels.json; it is listed as "
            "damaged") in captured.out
    assert main(["runs", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["missing_files"] == ["labels.json"] and listed["status"] == "completed"
