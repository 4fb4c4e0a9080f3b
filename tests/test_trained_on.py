"""The images a run trained on are found for ``evaluate`` and the Evaluate page even when the
run's split.json is missing or its data folder moved, and when they cannot be, that is said:
both scored every training image as held out, without a word (a CLI review)."""

import json
import shutil
from pathlib import Path

from test_gui_evaluate import open_run

from core.cli import main
from core.runs.folder import RunFolder


def _copy_run(trained_run: Path, dest: Path, data_dir=None) -> RunFolder:
    """A copy of the shared run; ``data_dir``: the folder its config.json names now."""
    shutil.copytree(trained_run, dest)
    run = RunFolder(dest)
    if data_dir is not None:
        cfg = run.load_config()
        cfg.data.data_dir = str(data_dir)
        run.save_config(cfg)
    return run


def _evaluate_json(capsys, run, folder) -> tuple[dict, str]:
    assert main(["evaluate", str(run), str(folder), "--json"]) == 0
    out = capsys.readouterr()
    return json.loads(out.out), out.err



def _only_held_out_scored(out, split):
    """evaluate --json scored the validation and test images and left out every training one."""
    assert out["n_images"] == len(split.val) + len(split.test)
    assert sum(c["kind"] == "trained_on" for c in out["left_out"]) == len(split.train)
    assert out["training_images_unrecognised"] is None

def test_a_run_without_its_split_json_has_its_split_made_again_or_says_it_cannot(
        trained_run, tmp_path, capsys):
    """With split.json gone, `evaluate RUN DATA` scored all 48 images (39 of them training
    images) with no warning, rc 0."""
    from core.infer.evaluation import training_images
    from core.train.near_copies import near_copy_groups

    data = RunFolder(trained_run).load_config().data.data_dir
    split = RunFolder(trained_run).split(data)
    run = _copy_run(trained_run, tmp_path / "run")
    run.split_path.unlink()
    again = training_images(str(run.path), near_copies=near_copy_groups)
    assert again.paths == training_images(str(trained_run)).paths and not again.problem
    # infer may not import train: without its near-copy finder the split is not guessed
    assert "kept near-copies together" in training_images(str(run.path)).problem
    out, err = _evaluate_json(capsys, run.path, data)
    _only_held_out_scored(out, split)
    assert "the split was made again from its config.json" in err

    # its data folder changed since training: the split cannot be made again, and it is said
    changed = tmp_path / "changed"
    shutil.copytree(data, changed)
    next((changed / "dark").iterdir()).unlink()
    run = _copy_run(trained_run, tmp_path / "run2", changed)
    run.split_path.unlink()
    out, err = _evaluate_json(capsys, run.path, changed)
    said = out["training_images_unrecognised"]
    assert "split.json is missing" in said and str(changed) in said
    assert "not as the run recorded it" in said and "flatter the figures" in said
    assert "warning: " in err and "flatter the figures" in err
    assert out["n_images"] == len(split.train) + len(split.val) - 1  # all of them: said

    # a run whose run.json has no fingerprint (an older run): its folder cannot be checked
    run = _copy_run(trained_run, tmp_path / "run4")
    run.split_path.unlink()
    info = json.loads(run.run_path.read_text())
    info.pop("dataset_fingerprint", None)
    run.run_path.write_text(json.dumps(info))
    said = training_images(str(run.path), near_copies=near_copy_groups).problem
    assert "records no fingerprint" in said and "flatter the figures" in said

    # its data folder is gone too: said, naming it
    run = _copy_run(trained_run, tmp_path / "run3", tmp_path / "gone")
    run.split_path.unlink()
    out, _ = _evaluate_json(capsys, run.path, data)
    said = out["training_images_unrecognised"]
    assert "split.json is missing" in said and str(tmp_path / "gone") in said


def test_a_moved_data_folder_s_training_images_are_recognised_by_name_or_it_is_said(
        trained_run, tmp_path, capsys):
    """With the run's data folder moved, a copy of it scored every training image (48 images,
    no warning), and so did every export of the run."""
    from core.infer.evaluation import training_images
    from core.infer.export_meta import METADATA_MARKER

    data = RunFolder(trained_run).load_config().data.data_dir
    split = RunFolder(trained_run).split(data)
    orig, copy = tmp_path / "orig", tmp_path / "copy"
    shutil.copytree(data, orig)
    shutil.copytree(data, copy)
    run = _copy_run(trained_run, tmp_path / "run", orig)
    orig.rename(tmp_path / "moved")
    out, err = _evaluate_json(capsys, run.path, copy)
    _only_held_out_scored(out, split)
    assert "recognised by their names and sizes" in err

    # a folder that is not a whole copy (one image less): the check cannot be made; said
    part = tmp_path / "part"
    shutil.copytree(copy, part)
    Path(split.val[0].path.replace(data, str(part))).unlink()
    out, err = _evaluate_json(capsys, run.path, part)
    said = out["training_images_unrecognised"]
    assert f"{len(split.train)} of the images the model trained on are not at {orig}" in said
    assert "flatter the figures" in said and "flatter the figures" in err
    assert out["n_images"] == len(split.train) + len(split.val) - 1

    # an export whose run is gone
    export = tmp_path / "export"
    export.mkdir()
    (export / "metadata.json").write_text(json.dumps(
        {METADATA_MARKER: True, "source": str(tmp_path / "nowhere" / "model.keras")}))
    said = training_images(str(export / "model.onnx")).problem
    assert str(tmp_path / "nowhere") in said and "cannot be recognised" in said


def test_the_evaluate_page_says_the_training_images_could_not_be_recognised(
        qtbot, window, trained_run, tmp_path):
    data = RunFolder(trained_run).load_config().data.data_dir
    run = _copy_run(trained_run, tmp_path / "run", tmp_path / "gone")
    run.split_path.unlink()
    page = open_run(qtbot, window, run.path)
    with qtbot.waitSignal(page.folder_evaluated, timeout=120000):
        assert page.evaluate_folder(data) is not None
    text = page.banner.text()
    assert "split.json is missing" in text and str(tmp_path / "gone") in text
    assert "flatter the figures" in text


def test_the_run_s_own_split_folder_is_not_sent_to_score_its_train_folder(trained_run,
                                                                           tmp_path):
    """`evaluate RUN SPLIT` said "give SPLIT/train to score the training images", and that
    command was refused: every image in it is one the model trained on (a CLI review)."""
    import numpy as np
    from PIL import Image

    from core.data.dataset import scan_dataset, split_dataset
    from core.events import Log
    from core.infer.evaluation import evaluate_labelled_folder, training_images
    from core.infer.loaders import load_predictor

    data, rng = tmp_path / "split", np.random.default_rng(5)
    for subset, n in (("train", 6), ("val", 3), ("test", 2)):
        for cls, level in (("bright", 190), ("dark", 60)):
            (data / subset / cls).mkdir(parents=True)
            for i in range(n):
                arr = np.clip(level + rng.normal(0, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(arr).save(data / subset / cls / f"{i}.png")
    run = _copy_run(trained_run, tmp_path / "run", data)  # as if trained on the split folder
    run.write_split(split_dataset(scan_dataset(str(data))))
    predictor, trained = load_predictor(trained_run), training_images(str(run.path))

    def said(folder, trained_on):
        events = []
        result = evaluate_labelled_folder(predictor, str(folder), events.append,
                                          trained_on=trained_on)
        return result, " ".join(e.message for e in events if isinstance(e, Log))

    result, text = said(data, trained)
    assert result.metrics.n_images == 4
    assert f"give {data / 'val'} to score its validation images" in text
    assert "to score the training images" not in text
    result, text = said(data / "val", trained)  # what it points to works
    assert result.metrics.n_images == 6 and not result.left_out
    # a model that did not train on it: its train/ is offered as before
    _, text = said(data, type(trained)())
    assert f"give {data / 'train'} to score the training images" in text
