"""Untrusted files: opening a model or a project someone sent never runs code from it.

A Keras ``Lambda`` layer stores Python bytecode that runs when the model is
rebuilt.  The models here carry a lambda whose only effect is to write a
marker file, so "it did not run" is checked directly, and a control load with
``safe_mode=False`` shows the marker really would appear if the app were lax.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import ConfigError, ModelFileError, UserError

ROOT = Path(__file__).resolve().parent.parent


def _lambda_model(folder: Path, marker: Path, suffix: str = ".keras") -> Path:
    """A tiny model whose Lambda writes ``marker`` whenever it is called or rebuilt."""
    import keras

    # Built from source so the marker path is a constant inside the lambda's bytecode.
    fn = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).write_text('ran'), x)[1]")
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Lambda(fn, name="evil")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    path = folder / f"evil{suffix}"
    model.save(str(path))
    (folder / "labels.json").write_text(json.dumps(["a", "b"]), encoding="utf-8")
    marker.unlink(missing_ok=True)  # building the model ran the lambda once, here
    return path


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "lambda_ran.txt"
    folder = tmp_path / "model"
    folder.mkdir()
    return _lambda_model(folder, marker), marker


def test_lambda_model_is_refused_by_load_model_file_and_load_predictor(evil):
    from core.model.model_files import load_model_file
    from core.infer.loaders import load_predictor

    path, marker = evil
    for opener in (load_model_file, load_predictor):
        with pytest.raises(ModelFileError) as info:
            opener(path)
        message = str(info.value)
        assert str(path) in message and "Lambda" in message and "\n" not in message
        assert not marker.exists(), f"{opener.__name__} ran the model's code"
    # Control: a lax loader really would run it, so the assertions above can fail.
    import keras

    keras.saving.load_model(str(path), safe_mode=False, compile=False)
    assert marker.read_text() == "ran"


def test_legacy_h5_lambda_model_is_refused(tmp_path):
    from core.model.model_files import load_model_file

    marker = tmp_path / "lambda_ran.txt"
    path = _lambda_model(tmp_path, marker, suffix=".h5")
    with pytest.raises(ModelFileError, match="Lambda"):
        load_model_file(path)
    assert not marker.exists()


def test_cli_predict_refuses_a_lambda_model_with_exit_2(evil, tmp_path):
    path, marker = evil
    img = tmp_path / "photo.png"
    Image.fromarray(np.full((8, 8, 3), 99, np.uint8)).save(img)
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "predict", str(path), str(img)],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=240,
                          check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Lambda" in errors[0] and str(path) in errors[0]
    assert "Traceback" not in proc.stderr
    assert not marker.exists()


# ------------------------------------------------------------------------------ projects


def _project(tmp_path, **fields) -> Path:
    data = {"format": "fine-tune-studio-project", "version": 1, "config": {}}
    data.update(fields)
    path = tmp_path / "shared.ftsproj"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_hostile_paths_in_a_project_are_plain_data(tmp_path):
    from core.project import load_project

    inside = tmp_path / "proj"
    inside.mkdir()
    shell = f"$(touch {tmp_path / 'pwned'})"
    path = _project(inside, runs=["../../../../etc", "/etc/passwd", shell],
                    last_model="../../evil/model.keras",
                    config={"data": {"data_dir": "../../../etc"},
                            "model": {"weights": "/etc/shadow"},
                            "export": {"out_dir": "~/../../root/.ssh"}})
    before = sorted(p.name for p in tmp_path.rglob("*"))
    project = load_project(path)
    # Resolved as text against the project's folder; nothing was read, made or run.
    assert project.runs[0] == os.path.normpath(str(inside / "../../../../etc"))
    assert project.runs[1] == "/etc/passwd"
    assert project.runs[2].endswith(shell)
    assert project.config.model.weights == "/etc/shadow"
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("content, words", [
    (b"\xff\xfe\x00garbage\x80\x81", "not UTF-8 text"),
    pytest.param(b"[" * 200_000, "not valid JSON", id="nested-200000-deep"),
    (b'{"format": "fine-tune-studio-project", "version": 1, "config": {"data": {"val_split": NaN}}}',
     "val_split"),
    (b'{"format": "fine-tune-studio-project", "version": 1, "config": {"train": {"epochs": 1e999}}}',
     "epochs"),
    (b'{"format": "fine-tune-studio-project", "version": 1, "config": [1]}', "config"),
])
def test_malformed_project_is_a_config_error_naming_the_file(tmp_path, content, words):
    from core.project import load_project

    path = tmp_path / "broken.ftsproj"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_project(path)
    assert str(path) in str(info.value) and words in str(info.value)
    assert isinstance(info.value, UserError)


def test_deeply_nested_config_json_is_a_config_error():
    from core.config import StudioConfig

    with pytest.raises(ConfigError, match="not valid JSON"):
        StudioConfig.from_json("[" * 200_000, source="config.json")


# ------------------------------------------------------------------------------ .keras archives


def _keras_not_called(monkeypatch) -> list:
    """Record every call Keras' loader gets, so a test can show it was never reached."""
    import keras

    calls = []
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: calls.append(a))
    return calls


def test_keras_zip_bomb_is_refused_before_keras_reads_it(tmp_path, monkeypatch):
    import time
    import zipfile

    from core.model.model_files import load_model_file

    path = tmp_path / "bomb.keras"
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        with z.open("config.json", "w", force_zip64=True) as member:
            for _ in range(300):  # 300 MB of zeros: a few hundred KB on disk
                member.write(zeros)
    assert path.stat().st_size < 2 * 1024 ** 2
    calls = _keras_not_called(monkeypatch)
    start = time.perf_counter()
    with pytest.raises(ModelFileError) as info:
        load_model_file(path)
    assert time.perf_counter() - start < 0.5
    message = str(info.value)
    assert str(path) in message and "config.json" in message and "zip bomb" in message
    assert calls == []


def test_keras_member_packed_a_thousand_to_one_is_refused(tmp_path, monkeypatch):
    import zipfile

    from core.model.model_files import load_model_file

    path = tmp_path / "dense.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", bytes(40 * 1024 ** 2))
    calls = _keras_not_called(monkeypatch)
    with pytest.raises(ModelFileError, match="model.weights.h5"):
        load_model_file(path)
    assert calls == []


def test_text_file_named_keras_says_it_is_not_a_keras_file(tmp_path, monkeypatch):
    from core.model.model_files import load_model_file

    path = tmp_path / "notes.keras"
    path.write_text("this is not a model\n", encoding="utf-8")
    calls = _keras_not_called(monkeypatch)
    with pytest.raises(ModelFileError) as info:
        load_model_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "not a Keras model file (a .keras file is a zip archive; this one is not)" in message
    assert "File not found" not in message and calls == []


def test_models_of_another_input_or_with_raw_scores(tmp_path):
    """A model of any size or a 32×48 one stopped 'predict' with a bare TypeError or a page
    of Keras traceback; one ending in a plain Dense layer (trained with from_logits) had its
    scores shown as confidences of 33.281."""
    import keras
    import numpy as np

    from core.errors import ModelFileError
    from core.infer.loaders import load_predictor

    def save(name, shape, activation="softmax"):
        inp = keras.Input(shape)
        x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inp))
        out = keras.layers.Dense(3, activation=activation)(x)
        path = tmp_path / f"{name}.keras"
        keras.Model(inp, out).save(path)
        return path

    for name, shape in (("any", (None, None, 3)), ("wide", (32, 48, 3))):
        with pytest.raises(ModelFileError, match="one fixed square size"):
            load_predictor(save(name, shape))
    scores = load_predictor(save("logits", (32, 32, 3), activation=None))
    image = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3)).astype(np.float32)
    probs = scores.predict_arrays(image * 100)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and (probs >= 0).all()
    softmax = load_predictor(save("probs", (32, 32, 3)))
    raw = softmax.model(image, training=False).numpy()
    assert np.allclose(softmax.predict_arrays(image), raw, atol=1e-6)  # not softmax twice
    inp = keras.Input((32, 32, 3))  # the softmax inside a nested head: not applied twice
    head = keras.Sequential([keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(3, activation="softmax")])
    keras.Model(inp, head(keras.layers.Conv2D(2, 3)(inp))).save(tmp_path / "nested.keras")
    nested = load_predictor(tmp_path / "nested.keras")
    raw = nested.model(image, training=False).numpy()
    assert np.allclose(nested.predict_arrays(image), raw, atol=1e-6)


def test_a_keras_file_cut_short_is_called_incomplete_not_another_format(tmp_path, trained_run,
                                                                        monkeypatch):
    """A .keras copied half-way was "not a Keras model file (a .keras file is a zip archive;
    this one is not)": it is one, cut short (a message review)."""
    from core.model.model_files import load_model_file

    whole = (trained_run / "model.keras").read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(whole[:5000])
    calls = _keras_not_called(monkeypatch)
    with pytest.raises(ModelFileError, match=r"cut.keras is incomplete \(cut short while it was "
                                             r"copied or downloaded\); copy it again"):
        load_model_file(cut)
    assert calls == []


@pytest.mark.parametrize("name", ["junk.onnx", "junk.tflite"])
def test_a_damaged_exported_model_says_to_export_it_again(tmp_path, name):
    """"cannot be opened as an ONNX model (Error parsing message ... Wire format was corrupt)"
    said nothing a user could do (a window-messages review)."""
    from core.infer.loaders import load_predictor

    path = tmp_path / name
    path.write_bytes(b"\x08\x96\x01 certainly not a model" * 10)
    (tmp_path / "labels.txt").write_text("a\nb\n")
    with pytest.raises(ModelFileError, match="it is damaged or not such a model: export it "
                                             r"again \(or copy it again\)"):
        load_predictor(path)
