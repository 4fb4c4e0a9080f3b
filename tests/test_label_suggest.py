"""Sort new images: suggestions ordered by usefulness (no near-copies side by side) or confidence,
from a real trained run, and the ``suggest`` command's CSV and JSON."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.events import FileSkipped
from core.label.order import CANDIDATES_PER_PICK, confident_order, useful_order
from core.label.suggestions import suggest


def test_useful_order_keeps_near_copies_apart_and_confident_order_descends():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(6, 16))
    emb[1] = emb[0] + rng.normal(0, 1e-3, 16)  # a near-copy of the hardest image
    probs = np.array([[0.5, 0.5], [0.5, 0.5], [0.6, 0.4], [0.7, 0.3], [0.9, 0.1], [0.99, 0.01]])
    order, scores = useful_order(probs, emb)
    assert sorted(order) == list(range(6))
    pos = {int(r): i for i, r in enumerate(order)}
    assert abs(pos[0] - pos[1]) > 1
    assert list(np.argsort(-(1 - np.abs(probs[:, 0] - probs[:, 1])), kind="stable")[:2]) == [0, 1]
    c_order, useful = confident_order(probs)
    top = probs.max(axis=1)[c_order]
    assert list(top) == sorted(top, reverse=True) and int(c_order[0]) == 5
    # the usefulness is the image's own, not its probability: the surest is the least useful
    assert np.allclose(useful, 1 - np.abs(probs[c_order, 0] - probs[c_order, 1]))
    assert useful[0] == pytest.approx(0.02)


def _blobs(rng, centres, per_blob, spread=0.05):
    return np.vstack([c + rng.normal(0, spread, (per_blob, len(c))) for c in centres])


def test_a_batch_takes_one_image_per_group_of_hard_images_not_ten_near_copies():
    """Diversity within a batch: the most uncertain images are near-copies of one picture,
    more than a batch holds; a batch of 3 takes one of them and one of each of the two other
    uncertain groups."""
    rng = np.random.default_rng(1)
    centres = np.eye(4, 16) * 5
    k = CANDIDATES_PER_PICK  # the 3k most uncertain (k per image of the batch) are groups 0-2
    sizes = (k + 2, k - 1, k - 1, 17)
    emb = np.vstack([c + rng.normal(0, 0.05, (n, 16)) for c, n in zip(centres, sizes)])
    group = np.repeat(np.arange(4), sizes)
    u = np.array([0.95, 0.8, 0.7, 0.05])[group] + rng.uniform(0, 0.01, len(group))
    probs = np.stack([(2 - u) / 2, u / 2], axis=1)  # margin 1 - u
    order, scores = useful_order(probs, emb, batch=3)
    assert sorted(order) == list(range(len(group)))
    assert sorted(group[order[:3]]) == [0, 1, 2]
    assert group[order[0]] == 0  # within the batch the most uncertain leads
    # and across batches: the next batch does not go back to the first group's copies
    assert list(group[order[3:6]]).count(0) <= 1
    assert np.all(np.diff(scores[:3]) <= 0) and 0 <= scores.min() and scores.max() <= 1


def test_a_cold_start_takes_typical_images_of_the_groups_no_label_covers():
    """Fewer than COLD_PER_CLASS labels per class: the batch covers the groups the labelled
    images miss (largest first), however sure the model is of them."""
    rng = np.random.default_rng(2)
    centres = np.eye(3, 16) * 5
    emb = _blobs(rng, centres, 10)
    probs = np.tile([0.5, 0.5], (30, 1))
    probs[10:] = [0.9, 0.1]  # the model hesitates only over the covered group
    labelled = centres[:1] + rng.normal(0, 0.05, (2, 16))  # two labels, in group 0
    order, _ = useful_order(probs, emb, labelled=labelled, batch=2)
    assert sorted(int(r) // 10 for r in order[:2]) == [1, 2]
    warm, _ = useful_order(probs, emb, labelled=np.tile(labelled, (20, 1)), batch=2)
    assert int(warm[0]) // 10 == 0  # 40 labels for 2 classes: uncertainty decides
    first, _ = useful_order(probs, emb, labelled=labelled, batch=2, batches=1)
    assert list(first[:2]) == list(order[:2]) and sorted(first) == list(range(30))


def _image(path, level, seed, size=40):
    rng = np.random.default_rng(seed)
    arr = np.clip(level + rng.normal(0, 30, (size, size, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return arr


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory):
    """New images at many brightness levels, nested, with a near-copy pair and a broken file."""
    root = tmp_path_factory.mktemp("new")
    (root / "day2" / "deep").mkdir(parents=True)
    for i, level in enumerate((30, 84, 90, 102, 108, 220)):
        _image(root / ("day2" if i % 2 else "") / f"img_{i}.png", level, seed=10 + i)
    arr = _image(root / "hard.png", 96, seed=99)  # near the boundary
    near = np.clip(arr.astype(int) + 2, 0, 255).astype(np.uint8)
    Image.fromarray(near).save(root / "day2" / "deep" / "hard_copy.png")
    (root / "broken.png").write_bytes(b"not an image at all")
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One feature store for the module: the backbone runs over the new images once."""
    from core.features.store import FeatureStore

    return FeatureStore(tmp_path_factory.mktemp("features"))


def test_useful_order_of_a_folder_and_unreadable_files_named_once(trained_run, unlabelled,
                                                                  store):
    events = []
    useful = suggest(trained_run, unlabelled, "useful", store=store, listener=events.append)
    paths = [s.path for s in useful.items]
    assert len(paths) == 8 and not any(p.endswith("broken.png") for p in paths)
    skipped = [e for e in events if isinstance(e, FileSkipped)]
    assert [e.path.endswith("broken.png") for e in skipped] == [True]
    assert useful.skipped and useful.skipped[0][0].endswith("broken.png")
    pos = {p.rsplit("/", 1)[-1]: i for i, p in enumerate(paths)}
    by_name = {p.rsplit("/", 1)[-1]: s for p, s in zip(paths, useful.items)}
    copy, hard = by_name["hard_copy.png"], by_name["hard.png"]
    # the near-copy of a hard image is worth little once the hard one is shown: it falls
    # behind every image the model is less sure of (not next to its twin by uncertainty)
    assert copy.usefulness < 0.3 * hard.usefulness and pos["hard.png"] < pos["hard_copy.png"]
    assert all(pos[n] < pos["hard_copy.png"] for n, s in by_name.items()
               if s.probability < copy.probability)
    assert all(s.suggested in ("bright", "dark") and 0.5 <= s.probability <= 1
               for s in useful.items)


def test_suggest_cli_writes_csv_and_json(trained_run, unlabelled, tmp_path, capsys):
    out_csv = tmp_path / "review.csv"
    assert main(["suggest", str(trained_run), str(unlabelled), "--csv", str(out_csv)]) == 0
    text = capsys.readouterr()
    assert "hard.png" in text.out and "broken.png" in text.err  # named once, on stderr
    with open(out_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8
    assert set(rows[0]) == {"path", "label", "suggested", "probability", "usefulness", "unknown"}
    assert all(r["label"] in ("bright", "dark", "") for r in rows)
    out_json = tmp_path / "s.json"
    assert main(["suggest", str(trained_run), str(unlabelled), "--order", "confident",
                 "--json", str(out_json)]) == 0
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["order"] == "confident" and len(data["suggestions"]) == 8
    probs = [s["probability"] for s in data["suggestions"]]
    assert probs == sorted(probs, reverse=True)  # most confident first
    for s in data["suggestions"]:  # the image's usefulness, not its probability again
        margin = s["top"][0][1] - s["top"][1][1]
        assert s["usefulness"] == pytest.approx(1 - margin, abs=1e-4)
    assert set(data["suggestions"][0]) >= {"path", "suggested", "probability", "usefulness",
                                           "unknown"}
    capsys.readouterr()
    assert main(["suggest", str(tmp_path / "nope"), str(unlabelled)]) == 2
    assert "nope" in capsys.readouterr().err


def test_stored_embeddings_give_the_models_own_answers(trained_run, unlabelled, store,
                                                      monkeypatch):
    """The fast path (the run's head on stored embeddings) agrees with the whole model."""
    import core.label.scoring as scoring
    from core.infer.predictor import expand_image_paths

    paths = expand_image_paths([str(unlabelled)])
    fast = scoring.score_images(trained_run, paths, store)
    monkeypatch.setattr(scoring, "PROBE_TOLERANCE", -1.0)  # never trust the store
    slow = scoring.score_images(trained_run, paths, store)
    assert (fast.how, slow.how) == ("stored embeddings", "model")
    assert fast.paths == slow.paths
    np.testing.assert_allclose(fast.probs, slow.probs, atol=0.02)
    assert list(fast.unknown) == list(slow.unknown)
    assert fast.labelled is None  # 36 training images for 2 classes: past the cold start


def test_a_run_trained_on_few_images_gives_the_order_its_training_embeddings(
        trained_run, unlabelled, store, monkeypatch):
    """The cold start needs the images the run trained on: from the store, or through the
    model when its backbone was fine-tuned, the same rows either way."""
    import core.label.order as order
    import core.label.scoring as scoring
    from core.infer.predictor import expand_image_paths

    monkeypatch.setattr(order, "COLD_PER_CLASS", 100)
    paths = expand_image_paths([str(unlabelled)])
    fast = scoring.score_images(trained_run, paths, store)
    monkeypatch.setattr(scoring, "PROBE_TOLERANCE", -1.0)
    slow = scoring.score_images(trained_run, paths, store)
    assert fast.labelled.shape == slow.labelled.shape == (36, fast.embeddings.shape[1])
    scale = np.abs(slow.labelled).max()
    assert np.abs(fast.labelled - slow.labelled).max() / scale < 0.01
    result = suggest(trained_run, unlabelled, "useful", store=store)
    assert len(result.items) == 8


def test_a_model_file_outside_its_run_is_predicted_whole(trained_run, unlabelled, tmp_path):
    """A lone .keras file (an export): no run config, so no store; thumbnails for diversity."""
    import shutil

    shutil.copy(trained_run / "model.keras", tmp_path / "model.keras")
    shutil.copy(trained_run / "labels.json", tmp_path / "labels.json")
    result = suggest(tmp_path / "model.keras", unlabelled)
    assert result.how == "exported model" and len(result.items) == 8
    pos = {s.path.rsplit("/", 1)[-1]: i for i, s in enumerate(result.items)}
    assert abs(pos["hard.png"] - pos["hard_copy.png"]) > 1


def test_the_log_says_why_the_stored_features_were_not_used(trained_run, unlabelled, store,
                                                           tmp_path):
    """With the first images unreadable it said "the run's backbone differs (fine-tuned)"."""
    import core.label.scoring as scoring
    from core.events import Log
    from core.infer.predictor import expand_image_paths

    broken = []
    for i in range(scoring.PROBE_IMAGES):
        broken.append(tmp_path / f"{i}.png")
        broken[-1].write_bytes(b"not an image")
    events = []
    scored = scoring.score_images(trained_run, [str(p) for p in broken] +
                                  expand_image_paths([str(unlabelled)]), store,
                                  listener=events.append)
    said = [e.message for e in events if isinstance(e, Log) and "suggestions:" in e.message]
    assert scored.how == "model" and len(said) == 1
    assert f"the first {scoring.PROBE_IMAGES} images could not be read" in said[0]


def test_the_head_on_stored_embeddings_scores_every_row_whatever_the_batch(monkeypatch):
    """Batches above 256 stepped by the batch but sliced 256 rows: the rest were lost."""
    import keras

    import core.label.scoring as scoring
    import core.train.fast_head as fast_head

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    monkeypatch.setattr(fast_head, "head_model", lambda m, width: m)  # the whole toy model
    vectors = np.random.default_rng(0).normal(size=(700, 8)).astype(np.float32)
    assert len(scoring._head_probs(model, vectors, 300)) == 700


def test_suggest_writes_its_file_before_a_closed_pipe_ends_it(trained_run, unlabelled,
                                                              tmp_path, monkeypatch):
    """`suggest ... --csv F | head` ended with exit 141 and no F: the listing came first
    (a bug hunt); the README promises the file is written before a closed pipe ends it."""
    import sys

    class Closed:  # a reader that left after the header line
        lines = 0

        def write(self, text):
            self.lines += text.count("\n")
            if self.lines > 1:
                raise BrokenPipeError(32, "Broken pipe")
            return len(text)

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", Closed())
    out_csv, out_json = tmp_path / "review.csv", tmp_path / "s.json"
    assert main(["suggest", str(trained_run), str(unlabelled), "--csv", str(out_csv)]) == 141
    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["suggest", str(trained_run), str(unlabelled), "--json", str(out_json)]) == 141
    assert len(out_csv.read_text(encoding="utf-8").splitlines()) == 9  # header + 8 images
    assert len(json.loads(out_json.read_text(encoding="utf-8"))["suggestions"]) == 8


def test_a_folder_holding_the_data_folder_is_sorted_without_the_data_sets_images(
        trained_run, unlabelled, tmp_path, capsys):
    """"~/photos" holding both the data set and the new images listed the data set's own
    training images to label again; the data folder itself was listed with no remark."""
    import shutil

    from core.runs.folder import RunFolder

    run, photos = tmp_path / "run", tmp_path / "photos"
    shutil.copytree(trained_run, run)
    shutil.copytree(RunFolder(trained_run).load_config().data.data_dir, photos / "data")
    shutil.copytree(unlabelled, photos / "incoming")
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    config["data"]["data_dir"] = str(photos / "data")
    (run / "config.json").write_text(json.dumps(config), encoding="utf-8")
    n_data = sum(1 for p in (photos / "data").rglob("*.png"))
    out = tmp_path / "s.json"
    assert main(["suggest", str(run), str(photos), "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert len(result["suggestions"]) == 8
    assert all("/incoming/" in s["path"] for s in result["suggestions"])
    assert result["left_out"] == [{"folder": str(photos / "data"), "images": n_data}]
    assert f"left out {n_data} image(s) in {photos / 'data'}" in capsys.readouterr().err
    assert main(["suggest", str(run), str(photos / "data")]) == 2
    assert "labelled already" in capsys.readouterr().err


def test_an_export_of_the_run_leaves_out_the_runs_data_set_as_the_run_folder_does(
        trained_run, unlabelled, tmp_path, capsys):
    """With the run folder, suggest left out the data set's own images; with a model exported
    from that run it offered them all again, most with a wrong label (a CLI review)."""
    import shutil

    from core.formats import METADATA_MARKER
    from core.runs.folder import RunFolder

    run, photos, export = tmp_path / "run", tmp_path / "photos", tmp_path / "export"
    shutil.copytree(trained_run, run)
    shutil.copytree(RunFolder(trained_run).load_config().data.data_dir, photos / "data")
    shutil.copytree(unlabelled, photos / "incoming")
    cfg = RunFolder(run).load_config()
    cfg.data.data_dir = str(photos / "data")
    RunFolder(run).save_config(cfg)
    export.mkdir()
    shutil.copy(run / "model.keras", export / "model.keras")
    shutil.copy(run / "labels.json", export / "labels.json")
    (export / "metadata.json").write_text(json.dumps(
        {METADATA_MARKER: True, "source": str(run / "model.keras")}), encoding="utf-8")
    n_data = sum(1 for p in (photos / "data").rglob("*.png"))
    out = tmp_path / "s.json"
    assert main(["suggest", str(export / "model.keras"), str(photos), "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert all("/incoming/" in s["path"] for s in result["suggestions"])
    assert result["left_out"] == [{"folder": str(photos / "data"), "images": n_data}]
    capsys.readouterr()
    assert main(["suggest", str(export / "model.keras"), str(photos / "data")]) == 2
    assert "labelled already" in capsys.readouterr().err
