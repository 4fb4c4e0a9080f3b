"""Sort new images: suggestions ordered by usefulness (no near-copies side by side) or confidence,
from a real trained run, and the ``suggest`` command's CSV and JSON."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.events import FileSkipped
from core.label.order import confident_order, useful_order
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
    c_order, top = confident_order(probs)
    assert list(top) == sorted(top, reverse=True) and int(c_order[0]) == 5


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
    assert abs(pos["hard.png"] - pos["hard_copy.png"]) > 1
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


def test_a_model_file_outside_its_run_is_predicted_whole(trained_run, unlabelled, tmp_path):
    """A lone .keras file (an export): no run config, so no store; thumbnails for diversity."""
    import shutil

    shutil.copy(trained_run / "model.keras", tmp_path / "model.keras")
    shutil.copy(trained_run / "labels.json", tmp_path / "labels.json")
    result = suggest(tmp_path / "model.keras", unlabelled)
    assert result.how == "exported model" and len(result.items) == 8
    pos = {s.path.rsplit("/", 1)[-1]: i for i, s in enumerate(result.items)}
    assert abs(pos["hard.png"] - pos["hard_copy.png"]) > 1
