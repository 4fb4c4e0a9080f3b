"""Project files: exact round trip, portable relative paths, broken files named."""

import json

import pytest

from core.config import FreezeConfig, StudioConfig, TransformConfig
from core.errors import ConfigError
from core.project import PROJECT_SUFFIX, Project, load_project, save_project


def _custom_config(tmp_path) -> StudioConfig:
    cfg = StudioConfig()
    cfg.data.data_dir = str(tmp_path / "images")
    cfg.data.val_split = 0.35
    cfg.data.seed = 7
    cfg.model.backbone = "EfficientNetB0"
    cfg.model.weights = str(tmp_path / "w" / "my.weights.h5")
    cfg.model.image_size = 160
    cfg.model.freeze = FreezeConfig(mode="custom", layers=["block_16_project", "Conv_1"])
    cfg.augment.preset = "custom"
    cfg.augment.transforms = [TransformConfig("HorizontalFlip", True, 0.5, {}),
                              TransformConfig("Rotate", False, 0.3, {"limit": 25})]
    cfg.train.epochs = 3
    cfg.export.formats = ["keras"]
    return cfg


def test_round_trip_restores_every_setting(tmp_path):
    cfg = _custom_config(tmp_path)
    project = Project(config=cfg, runs=[str(tmp_path / "runs" / "r1")],
                      last_model=str(tmp_path / "runs" / "r1" / "model.keras"))
    path = save_project(project, tmp_path / f"p{PROJECT_SUFFIX}")
    back = load_project(path)
    assert back.config == cfg
    assert back.runs == project.runs
    assert back.last_model == project.last_model
    assert back == project


def test_paths_inside_the_project_folder_are_stored_relative(tmp_path):
    cfg = _custom_config(tmp_path)
    path = save_project(Project(config=cfg, runs=[str(tmp_path / "runs" / "r1")]),
                        tmp_path / "proj" / f"p{PROJECT_SUFFIX}")
    raw = json.loads(path.read_text())
    # images/ is outside proj/, so it stays absolute; a moved project folder still finds
    # what lies inside it.
    assert raw["config"]["data"]["data_dir"] == str(tmp_path / "images")
    moved = tmp_path / "proj2"
    cfg.data.data_dir = str(tmp_path / "proj" / "data")
    save_project(Project(config=cfg), path)
    raw = json.loads(path.read_text())
    assert raw["config"]["data"]["data_dir"] == "data"
    path.parent.rename(moved)
    back = load_project(moved / path.name)
    assert back.config.data.data_dir == str(moved / "data")


def test_keywords_are_not_paths(tmp_path):
    cfg = StudioConfig()
    cfg.model.weights = "imagenet"
    back = load_project(save_project(Project(config=cfg), tmp_path / "a.ftsproj"))
    assert back.config.model.weights == "imagenet"
    assert back.config.data.data_dir == ""


@pytest.mark.parametrize("text, words", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a Fine-Tune Studio project"),
    ('{"format": "other"}', "not a Fine-Tune Studio project"),
    ('{"format": "fine-tune-studio-project", "version": 1}',
     "'config' (the project's settings) is missing"),
    ('{"format": "fine-tune-studio-project", "version": "1", "config": {}}', "version"),
    ('{"format": "fine-tune-studio-project", "version": 99, "config": {}}', "newer"),
    # a newer release's new entry is not called damage: the version speaks first
    ('{"format": "fine-tune-studio-project", "version": 2, "config": {}, "notes": ""}', "newer"),
    ('{"format": "fine-tune-studio-project", "config": {}, "runs": "x"}', "'runs'"),
    ('{"format": "fine-tune-studio-project", "config": {}, "last_model": 3}', "'last_model'"),
    ('{"format": "fine-tune-studio-project", "config": {}, "script": "rm -rf /"}', "unknown entry"),
    ('{"format": "fine-tune-studio-project", "config": {"data": {"val_split": "a lot"}}}',
     "data.val_split"),
    ('{"format": "fine-tune-studio-project", "config": {"data": {"val_split": 3.0}}}',
     "data.val_split"),
    ('{"format": "fine-tune-studio-project", "config": {"model": {"freeze": {"mode": "x"}}}}',
     "model.freeze.mode"),
])
def test_broken_file_names_the_file_and_the_field(tmp_path, text, words):
    path = tmp_path / "broken.ftsproj"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_project(path)
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_project(tmp_path / "nope.ftsproj")
    with pytest.raises(ConfigError, match="folder"):
        load_project(tmp_path)


def test_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = save_project(Project(), tmp_path / "keep.ftsproj")
    before = path.read_text()
    cfg = StudioConfig()
    cfg.data.seed = 123
    import core.fsutil as fsutil

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(fsutil.os, "replace", boom)
    from core.errors import UserError

    with pytest.raises(UserError, match="cannot write .*keep.ftsproj"):  # named, not a raw error
        save_project(Project(config=cfg), path)
    monkeypatch.undo()
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.ftsproj"]


def test_unknown_thresholds_round_trip_relative_and_checked(tmp_path):
    """The Predict page's threshold per model is kept in the project (paths relative inside
    the project folder, None = 'unknown' switched off); a bad value names the entry."""
    run = str(tmp_path / "proj" / "runs" / "r1")
    other = str(tmp_path / "elsewhere" / "model.onnx")
    project = Project(runs=[run], unknown_thresholds={run: 1.25, other: None})
    path = save_project(project, tmp_path / "proj" / f"p{PROJECT_SUFFIX}")
    raw = json.loads(path.read_text())
    assert raw["unknown_thresholds"] == {"runs/r1": 1.25, other: None}
    back = load_project(path)
    assert back.unknown_thresholds == {run: 1.25, other: None} and back == project
    del raw["unknown_thresholds"]  # a project written before thresholds existed
    path.write_text(json.dumps(raw))
    assert load_project(path).unknown_thresholds == {}
    raw["unknown_thresholds"] = {"runs/r1": "high"}
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="unknown_thresholds"):
        load_project(path)


def test_a_project_saved_in_home_or_naming_the_app_s_runs_keeps_them_absolute(tmp_path,
                                                                              monkeypatch):
    """Saved in home (the dialog's suggestion), every path under home was stored relative
    to it, the app's own runs folder too; moving the file into Documents lost them all."""
    home, app = tmp_path / "home", tmp_path / "home" / ".local" / "share" / "fts"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FTS_DATA_DIR", str(app))
    (home / "photos" / "parts").mkdir(parents=True)
    run = app / "runs" / "r1"
    run.mkdir(parents=True)
    cfg = StudioConfig()
    cfg.data.data_dir = str(home / "photos" / "parts")
    path = save_project(Project(config=cfg, runs=[str(run)]), home / f"p{PROJECT_SUFFIX}")
    raw = json.loads(path.read_text())
    assert raw["config"]["data"]["data_dir"] == str(home / "photos" / "parts")
    assert raw["runs"] == [str(run)]
    (home / "Documents").mkdir()
    moved = path.rename(home / "Documents" / path.name)
    back = load_project(moved)
    assert back.config.data.data_dir == str(home / "photos" / "parts") and back.runs == [str(run)]
    # even a project file inside the app's data folder names the app's runs absolutely
    own = save_project(Project(config=cfg, runs=[str(run)]), app / "runs" / f"q{PROJECT_SUFFIX}")
    assert json.loads(own.read_text())["runs"] == [str(run)]


def test_a_huge_number_is_named_not_printed_in_full(tmp_path):
    path = tmp_path / f"p{PROJECT_SUFFIX}"
    save_project(Project(config=StudioConfig()), path)
    raw = json.loads(path.read_text())
    raw["config"]["train"]["epochs"] = 10 ** 400
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError) as info:
        load_project(path)
    message = str(info.value)
    assert "train.epochs" in message and "a number of 401 digits" in message
    assert len(message) < 300


def test_a_number_too_long_to_read_or_a_huge_file_is_named(tmp_path):
    """5000 digits raised a bare ValueError ("Exceeds the limit (4300 digits)") out of every
    loader; a 1 GB file was read whole (12 s, 2 GB) before "not valid JSON"."""
    path = tmp_path / f"p{PROJECT_SUFFIX}"
    save_project(Project(config=StudioConfig()), path)
    raw = json.loads(path.read_text())
    raw["config"]["train"]["epochs"] = 12345
    path.write_text(json.dumps(raw).replace("12345", "9" * 5000))
    with pytest.raises(ConfigError, match=f"{path}: holds a number too long to read") as exc:
        load_project(path)
    assert "sys.set_int_max_str_digits" not in str(exc.value)  # Python's advice (a review)
    with open(path, "wb") as fh:
        fh.truncate(40 * 2**20)  # sparse: no disk used
    with pytest.raises(ConfigError, match="40 MB is far too big for a project file"):
        load_project(path)


def test_a_project_with_nothing_to_train_opens_again(tmp_path):
    """Saved with both phases at 0 (the Train page allows it), it was refused whole when
    opened: "nothing would train".  That is said when a run starts."""
    cfg = StudioConfig()
    cfg.train.epochs = cfg.train.fine_tune_epochs = 0
    path = save_project(Project(config=cfg), tmp_path / f"p{PROJECT_SUFFIX}")
    assert load_project(path).config == cfg


def test_a_project_file_given_as_a_config_gives_its_settings(tmp_path, capsys):
    """`train --config X.ftsproj` said the project the app wrote had an "unknown setting
    'config'" and to "fix it there" (a review): a project's settings are a config."""
    from core.cli import main

    folder = tmp_path / "proj"
    cfg = StudioConfig()
    cfg.data.data_dir = str(folder / "images")  # stored relative to the project
    cfg.train.epochs = 7
    path = save_project(Project(config=cfg), folder / "p.ftsproj")
    from core.project import load_settings

    loaded = load_settings(path)
    assert loaded == cfg and loaded.data.data_dir == str(folder / "images")
    main(["train", "--config", str(path), "--weights", "none"])
    err = capsys.readouterr().err
    assert "unknown setting" not in err and "images" in err  # the project's image folder


@pytest.mark.parametrize("weights", [" imagenet", "none ", "ImageNet"])
def test_a_weights_keyword_with_a_stray_space_stays_a_keyword(tmp_path, weights):
    """" imagenet" became the file "<project folder>/ imagenet" on opening, which training and
    the CLI read as the keyword (a review)."""
    path = tmp_path / "p.ftsproj"
    path.write_text(json.dumps({"format": "fine-tune-studio-project", "version": 1,
                                "config": {"model": {"weights": weights}}}))
    assert load_project(path).config.model.weights == weights


@pytest.mark.parametrize("config,said", [
    ({"train": {"epochs": -5}}, "train.epochs must be 0 to 1000, not -5; fix it there"),
    ([1, 2], "'config' must be a section {...} of settings; fix it there"),
])
def test_a_project_value_the_app_refuses_says_what_to_do(tmp_path, config, said):
    """An out-of-range value said no more than that; a 'config' that is a list said "expected
    a JSON object at the top level" of a file whose top level was fine (a review)."""
    path = tmp_path / "p.ftsproj"
    path.write_text(json.dumps({"format": "fine-tune-studio-project", "config": config}))
    with pytest.raises(ConfigError) as exc:
        load_project(path)
    assert str(exc.value) == f"{path}: {said}"


def test_train_config_of_a_project_whose_data_folder_moved_names_the_project(tmp_path, capsys):
    """`train --config X.ftsproj` after the images moved said "data folder not found", as for
    a mistyped DATA_DIR, naming neither the project nor what to do (a review)."""
    from core.cli import main

    cfg = StudioConfig()
    cfg.data.data_dir = str(tmp_path / "proj" / "images")
    path = save_project(Project(config=cfg), tmp_path / "proj" / "p.ftsproj")
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: its data folder {tmp_path / 'proj' / 'images'} is not there" in err
    assert "give the folder the images are in now as DATA_DIR" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("content,said", [
    (StudioConfig().to_dict(), "a settings file (a run's config.json or a --config file), not "
                               "a project: open the run on the Runs step"),
    ({"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose", "transforms": []}},
     "an albumentations file (augmentation only), not a project: open it on the Augmentation "
     "step with Open file…"),
    ({"format": "other"}, "not a Fine-Tune Studio project ('format' is not "
                          "'fine-tune-studio-project'); open a .ftsproj file saved with File"),
    ([1, 2], "not a Fine-Tune Studio project"),
    ({"format": "fine-tune-studio-project"}, "'config' (the project's settings) is missing; "
                                             "the file is damaged - open another project"),
])
def test_a_file_that_is_no_project_is_said_what_it_is_and_what_to_open(tmp_path, content,
                                                                         said):
    """A run's config.json opened as a project (the dialog offers every file; `train --config`
    takes it) said only "not a Fine-Tune Studio project ('format' should be ...)", and a
    project without settings "'config' is missing": neither said what to do (a review)."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_project(path)
    assert str(exc.value).startswith(f"{path}: {said}")
    assert "Save project as" in str(exc.value) or "start a new one" in str(exc.value)


def test_an_albumentations_file_given_as_a_config_is_pointed_to_augment(tmp_path):
    """`train --config` of an A.save file said "unknown setting '__version__' in the file
    (known: augment, data, ...); fix it there" (a review)."""
    import albumentations as A

    from core.project import load_settings

    path = tmp_path / "aug.json"
    A.save(A.Compose([A.HorizontalFlip(p=0.3)]), str(path), data_format="json")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert str(exc.value) == (f"{path}: an albumentations file (augmentation only), not a "
                              f"settings file: give it as --augment {path}")


def test_one_test_tells_an_albumentations_file_from_the_app_s_own_files(tmp_path):
    """The project, settings and augmentation readers share one test of an ``A.save`` file;
    it needs no albumentations, so importing core.project does not load it."""
    import subprocess
    import sys

    import albumentations as A

    from core.albumentations_json import is_albumentations_file

    path = tmp_path / "aug.json"
    A.save(A.Compose([A.HorizontalFlip(p=0.3)]), str(path), data_format="json")
    assert is_albumentations_file(json.loads(path.read_text(encoding="utf-8")))
    for other in (StudioConfig().to_dict(), {"augment": {"transforms": []}}, [1, 2], None,
                  {"transform": "HorizontalFlip"}, {"format": "fine-tune-studio-project"}):
        assert not is_albumentations_file(other), other
    out = subprocess.run([sys.executable, "-c", "import sys, core.project; "
                          "print('albumentations' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_run_folder_given_as_a_config_or_augmentation_file_is_named_as_such(tmp_path):
    """`train --config RUN` said "is a folder, not a config file" (the run's config.json was
    meant), and `--augment RUN` "is a folder, not a augmentation file" (a review)."""
    from core.data.augment_files import load_augment_file
    from core.project import load_settings

    run = tmp_path / "run"
    StudioConfig().save(run / "config.json")
    with pytest.raises(ConfigError) as exc:
        load_settings(run)
    assert str(exc.value) == (f"{run}: a run folder, not a settings file: give its settings, "
                              f"{run / 'config.json'}")
    with pytest.raises(ConfigError) as exc:
        load_augment_file(run)
    assert str(exc.value) == f"{run}: is a folder, not an augmentation file"


def test_train_config_naming_a_weights_file_that_is_gone_names_the_file(tmp_path, capsys):
    """A --config file's weights file that had moved was "weights file X not found; choose an
    existing .h5 ...", naming no config file (a review)."""
    from core.cli import main

    cfg = StudioConfig()
    cfg.data.data_dir = str(tmp_path)
    cfg.model.weights = str(tmp_path / "w" / "mine.weights.h5")
    path = tmp_path / "cfg.json"
    cfg.save(path)
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: its weights file {cfg.model.weights} is not there" in err
    assert "give it with --weights FILE" in err and not (tmp_path / "run").exists()


def test_a_path_with_a_nul_in_it_is_saved_as_it_was_opened(tmp_path):
    """A NUL typed into a project's path ("\\u0000" in the file) opened, and then every save
    raised ValueError (os.path.realpath refuses it): the window could not save the project
    anywhere.  Such a path names no file; it is kept as written, and the project saves."""
    bad = str(tmp_path / "images\0old")
    cfg = StudioConfig()
    cfg.data.data_dir = bad
    cfg.model.weights = bad + ".h5"
    cfg.export.out_dir = bad
    project = Project(config=cfg, runs=[bad], last_model=bad, unknown_thresholds={bad: 0.5})
    path = save_project(project, tmp_path / f"p{PROJECT_SUFFIX}")
    assert "\\u0000" in path.read_text()
    assert load_project(path) == project


@pytest.mark.parametrize("entries", [
    '"version": "1", "config": {}', '"version": 0, "config": {}',
    '"config": {"version": 2.0}', '"config": {"version": -1}',
    '"config": {}, "runs": "x"', '"config": {}, "last_model": 3',
    '"config": {}, "unknown_thresholds": [0.5]', '"config": {}, "script": "rm -rf /"',
])
def test_a_hand_edited_entry_says_what_to_do(tmp_path, entries):
    """A wrong version, runs, last_model or unknown_thresholds, or an unknown entry, said what
    was wrong and stopped there ("'runs' must be a list of folder paths (text)"), where a
    wrong setting says to fix it in the file: every one says so now."""
    path = tmp_path / "broken.ftsproj"
    path.write_text('{"format": "fine-tune-studio-project", ' + entries + "}", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_project(path)
    assert str(info.value).startswith(str(path)) and str(info.value).endswith("; fix it there")
