""""Update the model": a head-only run that starts from the current run's fine-tuned backbone,
compared with it on the same held-out images."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import UserError
from core.label.update import fine_tuned, update_model
from core.runs.folder import RunFolder

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def grown_copy(trained_run, tmp_path):
    """A copy of the shared run and its data folder, with 6 new images per class in the data."""
    old = RunFolder(trained_run)
    data = tmp_path / "data"
    shutil.copytree(old.load_config().data.data_dir, data)
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    cfg = RunFolder(run).load_config()
    cfg.data.data_dir = str(data)
    RunFolder(run).save_config(cfg)
    rng = np.random.default_rng(5)
    for name, base in (("bright", 190), ("dark", 60)):
        for i in range(6):
            arr = np.clip(base + rng.normal(0, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(data / name / f"new_{i}.png")
    return run, data


def test_update_starts_from_the_fine_tuned_backbone_and_compares_on_the_same_images(
        trained_run, tmp_path):
    from core.model.build import backbone_of
    from core.model.model_files import load_model_file

    run, data = grown_copy(trained_run, tmp_path)
    assert fine_tuned(RunFolder(run))
    out = update_model(run, data, tmp_path / "updated")
    assert out.status == "completed" and out.run_dir == str(tmp_path / "updated")
    new = RunFolder(out.run_dir)
    cfg = new.load_config()
    assert cfg.train.fine_tune_epochs == 0 and cfg.model.weights.endswith(".weights.h5")
    assert {row["phase"] for row in new.history()} == {"head"}
    assert new.run_info().images == 48 + 12
    old_bb = backbone_of(load_model_file(RunFolder(run).model_path)).get_weights()
    new_bb = backbone_of(load_model_file(new.model_path)).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(old_bb, new_bb))  # carried, left frozen
    assert out.compared > 0 and 0 <= out.before <= 1 and 0 <= out.after <= 1
    assert "→" in out.describe() and str(out.compared) in out.describe()
    # the Sort page said "16 s" where the Runs page said 0:08 (the run's training alone)
    assert "comparing the two models included" in out.describe()


def test_a_copied_data_folder_leaves_the_runs_training_images_out_of_the_comparison(
        trained_run, tmp_path):
    """The run trained on another folder (the data moved, or a copy): the comparison took
    the old training images from the old folder alone, matched none in the copy, and said
    "on the 263 validation image(s) neither model trained on" of 8 the current run had
    trained on (a review)."""
    from core.label.update import held_out

    old = RunFolder(trained_run)
    trained_in = old.load_config().data.data_dir
    copy = tmp_path / "data"
    shutil.copytree(trained_in, copy)
    split = old.split(str(copy))  # as the new run's split of the copy would list them
    records = [*split.train, *split.val]
    held = held_out(old, records, trained_in, str(copy))
    assert [r.path for r in held] == [r.path for r in split.val]


def test_update_refuses_a_run_without_a_model(tmp_path):
    from core.errors import UserError

    with pytest.raises(UserError):
        update_model(tmp_path / "nothing")


def test_a_completed_run_without_its_model_is_not_told_to_resume(trained_run, tmp_path):
    """update.py said "let it finish (or resume it)" of a completed run, which resume refuses."""
    run = Path(shutil.copytree(trained_run, tmp_path / "run"))
    (run / "model.keras").unlink()
    with pytest.raises(UserError) as err:
        update_model(run)
    assert "missing although the run completed" in str(err.value)
    assert "resume" not in str(err.value) and str(err.value).endswith("before updating it")


def test_a_full_run_starts_from_the_runs_backbone_only_when_the_backbone_matches(trained_run,
                                                                                 tmp_path):
    from core.config import StudioConfig
    from core.events import Log
    from core.label.update import start_from_run

    run, data = grown_copy(trained_run, tmp_path)
    cfg = RunFolder(run).load_config()
    cfg.train.fine_tune_epochs = 2  # the user's settings stay: only the weights change
    words, made = start_from_run(run, cfg)
    assert "fine-tuned" in words and cfg.model.weights.endswith(".weights.h5")
    assert made == cfg.model.weights and Path(made).is_file()
    assert cfg.train.fine_tune_epochs == 2

    other = StudioConfig()
    other.model.backbone, other.model.weights = "EfficientNetB0", "none"
    logs = []
    words, made = start_from_run(run, other,
                                 lambda e: isinstance(e, Log) and logs.append(e.message))
    assert other.model.weights == "none" and "another backbone" in words and made == ""
    assert any("MobileNetV3Small" in m and "EfficientNetB0" in m for m in logs)
    with pytest.raises(UserError):
        start_from_run(tmp_path / "nothing", cfg)


def test_a_carried_backbone_goes_again_when_its_run_never_starts(trained_run, tmp_path):
    """Bad settings (here: a data folder that is gone) stop the run before its folder exists:
    the start-weights file made for it would be named by no run, so it is removed; the
    run's own weights file is never touched."""
    from core.errors import DataError
    from core.label.update import start_from_run, train_carrying

    run, data = grown_copy(trained_run, tmp_path)
    cfg = RunFolder(run).load_config()
    _words, made = start_from_run(run, cfg)
    cfg.data.data_dir = str(tmp_path / "gone")
    with pytest.raises(DataError):
        train_carrying(cfg, made, runs_base=tmp_path / "runs")
    assert made and not Path(made).exists()
    again = RunFolder(run).load_config()
    _words, kept = start_from_run(run, again)  # a weights file no longer new to this call
    again.data.data_dir = str(tmp_path / "gone")
    with pytest.raises(DataError):
        train_carrying(again, "", runs_base=tmp_path / "runs")
    assert Path(kept).is_file()


def test_train_from_run_on_the_command_line(trained_run, tmp_path, capsys):
    """`train DATA --from-run RUN`: the window's "Fine-tune from this run", headless."""
    from core.cli import main
    from core.model.backbones import get_backbone
    from core.model.build import backbone_of, build_backbone
    from core.model.model_files import load_model_file

    run, data = grown_copy(trained_run, tmp_path)
    common = ["train", str(data), "--config", str(RunFolder(run).config_path),
              "--epochs", "1", "--fine-tune-epochs", "1"]
    assert main(common + ["--from-run", str(run), "--weights", "none"]) != 0
    assert "leave out --weights" in capsys.readouterr().err
    assert main(common + ["--from-run", str(run), "--resume", str(run)]) != 0
    assert main(common + ["--from-run", str(run), "--out", str(tmp_path / "next")]) == 0
    new = RunFolder(tmp_path / "next")
    weights = new.load_config().model.weights
    assert "start-weights" in weights and {r["phase"] for r in new.history()} == \
        {"head", "fine_tune"}
    carried = backbone_of(load_model_file(RunFolder(run).model_path)).get_weights()
    start = build_backbone(get_backbone("MobileNetV3Small"), 32, weights).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(start, carried))


def test_from_run_without_backbone_flags_takes_the_runs_backbone_and_size(trained_run, tmp_path,
                                                                         capsys):
    """`train DATA --from-run RUN` alone started a MobileNetV2 (the flag's default) from
    ImageNet with one warning line: "continue from this run" silently did not."""
    from core.cli import main

    run, data = grown_copy(trained_run, tmp_path)
    assert main(["train", str(data), "--from-run", str(run), "--epochs", "1",
                 "--fine-tune-epochs", "0", "--batch-size", "8", "--augment", "none",
                 "--out", str(tmp_path / "next")]) == 0
    assert "not from that run" not in capsys.readouterr().err
    old, new = RunFolder(run).load_config().model, RunFolder(tmp_path / "next").load_config().model
    assert (new.backbone, new.image_size) == (old.backbone, old.image_size)
    assert "start-weights" in new.weights or new.weights == old.weights
    assert main(["train", str(data), "--from-run", str(tmp_path / "nope")]) == 2
    assert "nope: no such run folder" in capsys.readouterr().err


def test_update_refuses_the_very_images_the_run_trained_on(trained_run, tmp_path):
    """With nothing labelled it retrained the head on the same images (50.0% → 41.7% in a
    review) and the window made that run current."""
    old = RunFolder(trained_run)
    data = tmp_path / "data"
    shutil.copytree(old.load_config().data.data_dir, data)
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    with pytest.raises(UserError, match="nothing new to learn from"):
        update_model(run, data, tmp_path / "updated")
    assert not (tmp_path / "updated").exists()


def test_images_added_to_test_alone_are_nothing_new_and_the_scan_is_handed_on(tmp_path):
    """Images added only to test/ (never trained on) counted as new; the update then scanned
    the folder a second time for its run."""
    from types import SimpleNamespace

    from core.data.dataset import scan_dataset
    from core.label.update import nothing_new
    from weights_fixture import make_bright_dark

    data = tmp_path / "data"
    make_bright_dark(data / "train", per_class=6, size=16)
    make_bright_dark(data / "test", per_class=2, size=16)
    first = scan_dataset(data)
    old = SimpleNamespace(train=[r for r in first.records if r.subset == "train"], val=[],
                          test=[r for r in first.records if r.subset == "test"])
    run = SimpleNamespace(path=tmp_path / "run", split=lambda _data_dir: old)
    noise = np.random.default_rng(5).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(noise).save(data / "test" / "bright" / "more.png")
    with pytest.raises(UserError, match="nothing new to learn from"):
        nothing_new(run, str(data))
    Image.fromarray(255 - noise).save(data / "train" / "bright" / "new.png")
    report = nothing_new(run, str(data))
    assert len(report.records) == len(first.records) + 2  # the update's run is given it


def test_the_update_trains_on_the_scan_its_check_made(trained_run, tmp_path, monkeypatch):
    """The check for something new scanned the folder, and the run scanned it again."""
    import core.label.update as update_module

    run, data = grown_copy(trained_run, tmp_path)
    seen = {}

    def stop(_cfg, _carried, _out_dir=None, **kwargs):
        seen["report"] = kwargs.get("report")
        raise UserError("stopped here")

    monkeypatch.setattr(update_module, "train_carrying", stop)
    with pytest.raises(UserError, match="stopped here"):
        update_model(run)
    report = seen["report"]
    assert report is not None and any(r.path.endswith("new_0.png") for r in report.records)


def test_an_update_says_which_classes_have_too_few_images_to_judge():
    """A class made on the Sort step with one image trained into the updated model, which
    reported "77.8 % → 77.8 %" and nothing else (a week-on-the-line review)."""
    from types import SimpleNamespace

    from core.label.update import ModelUpdate, thin_classes

    def records(spec):
        return [SimpleNamespace(class_name=c) for c, n in spec.items() for _ in range(n)]

    split = SimpleNamespace(train=records({"good": 20, "cracked": 20, "new": 1}),
                            val=records({"good": 5, "cracked": 5}))
    thin = thin_classes(split)
    assert thin == ("Too few images to learn or judge: new (1 to learn from, none to check "
                    "on); the figures above say little about them. Label more of them, then "
                    "update again.")
    assert thin_classes(SimpleNamespace(train=records({"a": 9}), val=records({"a": 2}))) == ""
    said = ModelUpdate("/r2", "/r1", "completed", 0.778, 0.778, 9, "ImageNet", 12.0,
                       thin).describe()
    assert said.endswith(". " + thin)
