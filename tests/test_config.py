import json
from pathlib import Path

import pytest

from core.config import (CONFIG_VERSION, FreezeConfig, StudioConfig, TransformConfig)
from core.errors import ConfigError


def test_json_round_trip_is_exact(tmp_path):
    cfg = StudioConfig()
    cfg.data.data_dir = "/data/photos ü"
    cfg.model.freeze = FreezeConfig(mode="custom", layers=["block_16_project", "Conv_1"])
    cfg.augment.transforms = [TransformConfig("Rotate", p=0.3, params={"limit": [-15, 15]})]
    cfg.train.learning_rate = 0.0003
    path = tmp_path / "c.json"
    cfg.save(path)
    again = StudioConfig.load(path)
    assert again == cfg
    assert again.to_json() == cfg.to_json()
    assert json.loads(path.read_text())["version"] == CONFIG_VERSION


@pytest.mark.parametrize("data,needle", [
    ({"train": {"epochs": "ten"}}, "train.epochs"),
    ({"train": {"lr_schedule": "zigzag"}}, "train.lr_schedule"),
    ({"model": {"freeze": {"mode": "half"}}}, "model.freeze.mode"),
    ({"bogus": 1}, "bogus"),
    ({"version": 99}, "newer"),
    ({"version": 0}, "config version 0 is not supported"),
    ({"version": True}, "whole number"),
    ([1, 2], "JSON object"),
    # a misspelt preset trained with no augmentation; a huge number crashed (OverflowError)
    ({"augment": {"preset": "Heavy"}}, "augment.preset must be one of .*not 'Heavy'"),
    ({"model": {"dropout": 10 ** 400}}, "model.dropout: 1000.*too large"),
    # it read "TransformConfig.__init__() missing 1 required positional argument" (a review)
    ({"augment": {"transforms": [{"p": 0.5}]}},
     r'^config: augment.transforms\[0\] needs a "name" \(an albumentations transform, such as '
     r'HorizontalFlip\); fix it there$'),
])
def test_bad_configs_name_the_field(data, needle):
    with pytest.raises(ConfigError, match=needle):
        StudioConfig.from_dict(data)


def test_broken_json_file_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="broken.json") as err:
        StudioConfig.load(path)
    assert "delete it" not in str(err.value)  # 'train --config' then failed on a missing file
    assert "go without it: the defaults are used when no config is given" in str(err.value)


def test_validate_ranges():
    cfg = StudioConfig()
    cfg.data.val_split = 1.5
    with pytest.raises(ConfigError, match="data.val_split"):
        cfg.validate()
    StudioConfig().validate()


@pytest.mark.parametrize("text,mode", [("none", "none"), ("ALL", "all"), ("12", "top_n"),
                                       ("block_13_expand", "from_layer")])
def test_freeze_parse(text, mode):
    assert FreezeConfig.parse(text).mode == mode
    assert FreezeConfig.parse("\u00b2").mode == "from_layer"  # a digit to isdigit(), crashed int()


def test_unfreeze_with_commas_is_exactly_the_layers_named():
    """(a review) The Model page's ticked layers (mode custom) had no flag: --unfreeze
    took none, all, N or one layer name (that layer and every one after it)."""
    f = FreezeConfig.parse(" Conv_1, block_16_project ,Conv_1,")
    assert (f.mode, f.layers) == ("custom", ["Conv_1", "block_16_project"])
    cfg = StudioConfig()
    cfg.model.freeze = f
    assert StudioConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))).model.freeze == f


def test_every_bounded_setting_is_checked_by_validate():
    """validate() derives from the fields' own bounds: one value past each bound fails."""
    from core.config_fields import iter_fields

    checked = 0
    for info in iter_fields(StudioConfig):
        for bad in ([info.lo - 1] if info.lo is not None else []) + \
                ([info.hi * 2 + 1] if info.hi is not None else []):
            if info.special is not None and bad == info.special[0]:
                continue
            cfg = StudioConfig()
            section, _, leaf = info.path.rpartition(".")
            obj = cfg
            for part in section.split("."):
                obj = getattr(obj, part)
            setattr(obj, leaf, info.type(bad))
            with pytest.raises(ConfigError, match=info.path.replace(".", r"\.")):
                cfg.validate()
            checked += 1
        assert info.help or info.path.endswith(("transforms", "params", "name", "enabled")), \
            f"{info.path} has no help text"
    assert checked >= 20


def test_nothing_to_train_is_refused_up_front():
    """Refused where a run starts, not by validate(): a project saved with both phases at 0
    was refused whole when opened again."""
    from core.train.preflight import check_config

    cfg = StudioConfig()
    cfg.train.epochs = cfg.train.fine_tune_epochs = 0
    cfg.validate()
    with pytest.raises(ConfigError, match="nothing would train"):
        check_config(cfg, need_weights=False)
    # no head epoch and no backbone layer to unfreeze: the run "completed" without a model
    cfg.train.fine_tune_epochs = 3
    cfg.model.freeze.mode = "none"
    cfg.validate()
    with pytest.raises(ConfigError, match=r"unfreezes no backbone layer \(unfreeze: none\)"):
        check_config(cfg, need_weights=False)
    cfg.model.freeze.mode, cfg.model.freeze.top_n = "top_n", 0  # the same, said otherwise
    with pytest.raises(ConfigError, match=r"unfreezes no backbone layer \(the top 0 layers\)"):
        check_config(cfg, need_weights=False)
    cfg.model.freeze.mode = "none"
    cfg.model.weights = "none"  # from scratch: the fine-tuning phase trains every layer
    check_config(cfg, need_weights=False)
    cfg.model.weights, cfg.model.freeze.mode = "imagenet", "all"
    check_config(cfg, need_weights=False)


def test_one_learning_rate_rule():
    cfg = StudioConfig()
    cfg.train.learning_rate = 3e-3
    assert cfg.train.phase_learning_rate("head") == 3e-3
    assert cfg.train.phase_learning_rate("fine_tune") == pytest.approx(3e-4)  # auto: a tenth
    cfg.train.fine_tune_learning_rate = 5e-5
    assert cfg.train.phase_learning_rate("fine_tune") == 5e-5


def test_a_version_1_file_migrates_to_the_current_version(tmp_path):
    """A real v1 config (as written by the previous release) loads, with the same behaviour."""
    v1 = {"version": 1, "data": {"data_dir": "/d", "val_split": 0.2, "seed": 42, "cache_mb": 1024},
          "train": {"epochs": 3, "fine_tune_epochs": 2, "batch_size": 16, "learning_rate": 0.002,
                    "fine_tune_learning_rate": 0.0002, "label_smoothing": 0.1},
          "export": {"formats": ["keras", "onnx"], "int8_calibration_images": 200,
                     "parity_images": 32, "out_dir": ""}}
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(v1))
    cfg = StudioConfig.load(path)
    assert cfg.version == CONFIG_VERSION
    assert cfg.train.fine_tune_learning_rate == 0.0  # it was exactly the tenth: now "auto"
    assert cfg.train.phase_learning_rate("fine_tune") == pytest.approx(0.0002)
    v1["train"]["fine_tune_learning_rate"] = 5e-5  # an explicit choice is kept
    assert StudioConfig.from_dict(v1).train.fine_tune_learning_rate == 5e-5
    # version 1 without the second rate ran at its default, 1e-4, not at a tenth (1e-3)
    del v1["train"]["fine_tune_learning_rate"]
    v1["train"]["learning_rate"] = 0.01
    assert StudioConfig.from_dict(v1).train.phase_learning_rate("fine_tune") == 1e-4
    # values version 1 took over version 2's upper bounds (it had few): moved down to them,
    # not refused whole; under the lower bounds (refused by version 1 too) still refused
    v1["train"].update(early_stopping_patience=200, epochs=1500, label_smoothing=0.6)
    v1["model"] = {"dropout": 0.95, "dense_units": 8192}
    v1["data"]["val_split"] = 0.95
    cfg = StudioConfig.from_dict(v1).validate()
    assert (cfg.train.early_stopping_patience, cfg.train.epochs, cfg.train.label_smoothing,
            cfg.model.dropout, cfg.model.dense_units, cfg.data.val_split) == \
        (100, 1000, 0.5, 0.9, 4096, 0.9)
    v1["train"]["epochs"] = -5
    with pytest.raises(ConfigError, match="train.epochs"):
        StudioConfig.from_dict(v1).validate()


def test_hand_edited_files_duplicate_keys_a_bom_and_other_encodings(tmp_path):
    """A second "train" section silently replaced the first; a file saved with a byte-order
    mark (Windows editors) was 'not valid JSON (Unexpected UTF-8 BOM ...)'."""
    from core.project import load_project

    dup = tmp_path / "dup.json"
    dup.write_text('{"train": {"batch_size": 4}, "train": {"epochs": 1}}')
    with pytest.raises(ConfigError, match="dup.json: 'train' is given twice"):
        StudioConfig.load(dup)
    bom = tmp_path / "bom.json"
    bom.write_text('{"train": {"batch_size": 4}}', encoding="utf-8-sig")
    assert StudioConfig.load(bom).train.batch_size == 4
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"data": {"data_dir": "caf\xe9"}}')
    with pytest.raises(ConfigError, match="latin.json: not UTF-8 text.*save it as UTF-8"):
        StudioConfig.load(latin)
    project = tmp_path / "p.ftsproj"
    project.write_text(json.dumps({"format": "fine-tune-studio-project", "version": 1,
                                   "config": {}, "unknown_thresholds":
                                   {"m.keras": 10 ** 400}}), encoding="utf-8-sig")
    with pytest.raises(ConfigError, match="unknown_thresholds"):
        load_project(project)


@pytest.mark.parametrize("argv,needle", [
    (["train", "d", "--lr", "1e-400"], "too small to be told from 0"),  # was 'auto' silently
    (["train", "d", "--fine-tune-lr", "1e-999"], "too small to be told from 0"),
    (["export", "m", "--out", "o", "--calibration-images", "100001"], "1 to 100000"),
])
def test_cli_words_that_used_to_slip_through(argv, needle, capsys):
    from core.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and needle in capsys.readouterr().err


def test_a_run_config_is_checked_when_read_back(trained_run, tmp_path):
    """A hand-edited run with a NaN rate resumed and trained on NaN losses; batch size 0
    stopped with a ValueError."""
    import shutil

    from core.runs.folder import RunFolder

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["batch_size"] = 0
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match="config.json: train.batch_size must be.*copy of the run"):
        RunFolder(run).load_config()


def test_export_formats_are_checked_against_the_format_table():
    with pytest.raises(ConfigError, match="export.formats"):
        StudioConfig.from_dict({"export": {"formats": ["keras", "tensorrt"]}})


@pytest.mark.parametrize("argv,needle", [
    (["predict", "m", "x", "--batch-size", "0"], "must be 1 to 4096"),
    (["evaluate", "m", "d", "--batch-size", "-1"], "must be 1 to 4096"),
    (["train", "d", "--epochs", "-1"], "must be 0 to 1000"),
    (["train", "d", "--lr", "20"], "1e-07 to 1"),
    (["train", "d", "--val-split", "abc"], "not a number"),
])
def test_cli_numbers_are_checked_with_the_config_bounds(argv, needle, capsys):
    from core.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert needle in capsys.readouterr().err


def test_cli_help_shows_the_config_range_and_help():
    from core.cli import build_parser

    text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    info = StudioConfig.field("train.batch_size")
    assert info.help.split("\n")[0][:40] in " ".join(text.split())
    assert "1 to 4096; default 32" in " ".join(text.split())


def test_unknown_keep_round_trips_and_a_file_without_it_gets_the_default(tmp_path):
    """trust.unknown_keep is a typed setting with bounds; older files (no "trust") still load
    as they are (a new setting with a default needs no version bump)."""
    cfg = StudioConfig()
    assert cfg.trust.unknown_keep == 0.95
    cfg.trust.unknown_keep = 0.87
    path = tmp_path / "c.json"
    cfg.save(path)
    again = StudioConfig.load(path)
    assert again == cfg and again.to_json() == cfg.to_json()
    assert json.loads(path.read_text())["trust"] == {"unknown_keep": 0.87}
    old = cfg.to_dict()
    del old["trust"]
    assert StudioConfig.from_dict(old).trust.unknown_keep == 0.95
    info = StudioConfig.field("trust.unknown_keep")
    assert (info.lo, info.hi) == (0.5, 1.0) and "unknown" in info.help
    for bad in (0.3, 1.2):
        cfg.trust.unknown_keep = bad
        with pytest.raises(ConfigError, match=r"trust\.unknown_keep"):
            cfg.validate()


def test_train_flag_unknown_keep_sets_the_setting_and_is_checked(tmp_path, capsys):
    import argparse

    from core.cli.commands import train

    parser = argparse.ArgumentParser()
    train.register(parser.add_subparsers())
    args = parser.parse_args(["train", str(tmp_path), "--unknown-keep", "0.9"])
    assert train.config_from_args(args).trust.unknown_keep == 0.9
    with pytest.raises(SystemExit):
        parser.parse_args(["train", str(tmp_path), "--unknown-keep", "0.2"])
    assert "--unknown-keep: must be 0.5 to 1, not 0.2" in capsys.readouterr().err


def test_an_unknown_backbone_in_a_config_file_names_the_file(tmp_path, capsys):
    """'unknown backbone' did not say it came from the --config file."""
    from core.cli import main

    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"data": {"data_dir": str(tmp_path)},
                                "model": {"backbone": "Nope"}}))
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "mine.json: model.backbone: unknown backbone 'Nope'" in err and "--backbone" in err


@pytest.mark.parametrize("transform,said", [
    ({"name": "Blurrr"}, "augment.transforms[0]: unknown transform 'Blurrr'"),
    ({"name": "Lambda"}, "augment.transforms[0]: transform 'Lambda' runs Python code"),
    ({"name": "Rotate", "params": {"limitt": 30}},
     "augment.transforms[0] (Rotate): unknown parameter 'limitt'"),
])
def test_a_config_file_s_augmentation_that_cannot_be_built_names_the_file(
        tmp_path, capsys, transform, said):
    """A --config file's misspelt transform said only "augment.transforms[0]: unknown
    transform ..." when the run began, naming no file (a review); --augment FILE named it."""
    from core.cli import main

    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"data": {"data_dir": str(tmp_path)},
                                "augment": {"preset": "custom", "transforms": [transform]}}))
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {said}" in err and "fix it there, or override it with --augment" in err
    assert not (tmp_path / "run").exists()


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_json_text_writes_strict_json_nan_as_null():
    """A diverged run's NaN loss was printed by ``--json`` as ``NaN``, which jq refuses."""
    import numpy as np

    from core.typed_json import json_text

    text = json_text({"loss": float("nan"), "acc": np.float32(0.5), "n": np.int64(3),
                      "curve": [float("inf"), 1.0], "where": Path("runs") / "a", "ok": True},
                     strict=True)
    assert _strict(text) == {"loss": None, "acc": 0.5, "n": 3, "curve": [None, 1.0],
                             "where": str(Path("runs") / "a"), "ok": True}
    # the app's own files keep -inf a number: a diverged run's best score must resume
    assert json.loads(json_text({"best_score": [0.5, float("-inf")]})) == {
        "best_score": [0.5, float("-inf")]}


def test_every_json_output_of_the_cli_is_strict_json(capsys):
    """One rule: each ``--json`` goes through json_text (plain json.dumps lets NaN out)."""
    from core.cli import main

    commands = Path(__file__).resolve().parent.parent / "core" / "cli"
    texts = {p.name: p.read_text() for p in commands.rglob("*.py")}
    assert [n for n, t in texts.items() if "json.dumps(" in t] == []
    assert [n for n, t in texts.items() if "json_text(" in t.replace("import json_text", "")
            and t.count("json_text(") != t.count("strict=True)")] == []
    assert main(["backbones", "--json"]) == 0
    assert _strict(capsys.readouterr().out)


def test_a_run_of_a_version_before_a_setting_is_read_as_it_trained(tmp_path):
    """Runs of versions without train.head_solver or data.keep_duplicates_together trained the
    head with Adam and never grouped near-copies; their report and the Runs comparison said
    "logistic" and "on" (an upgrade review).  A config written by hand keeps the defaults."""
    from core.runs.folder import RunFolder

    old = {"version": 2, "data": {"data_dir": "/d", "val_split": 0.2},
           "train": {"epochs": 3, "fine_tune_epochs": 2}}
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(old))
    cfg = RunFolder(run).load_config()
    assert cfg.train.head_solver == "adam" and cfg.data.keep_duplicates_together is False
    fresh = RunFolder(run).load_config(as_trained=False)  # "Update the model": a new run
    assert fresh.train.head_solver == "logistic" and fresh.data.keep_duplicates_together
    # the Runs comparison reads the indexed config: the same rule
    from core.runs.compare import settings_diff

    same = StudioConfig().to_dict()
    same["train"].update(epochs=3, fine_tune_epochs=2, head_solver="adam")
    same["data"].update(data_dir="/d", keep_duplicates_together=False)
    paths = {d.path for d in settings_diff(json.loads(json.dumps(old)), same)}
    assert not paths & {"train.head_solver", "data.keep_duplicates_together"}, paths
    by_hand = StudioConfig.load(run / "config.json")
    assert by_hand.train.head_solver == "logistic" and by_hand.data.keep_duplicates_together
    written = StudioConfig()  # a run of this version writes every setting: read as written
    (run / "config.json").write_text(written.to_json())
    again = RunFolder(run).load_config()
    assert again.train.head_solver == "logistic" and again.data.keep_duplicates_together


def test_a_wrong_kind_of_value_names_the_file_then_the_setting_in_plain_words(tmp_path):
    """"cfg.json.train.epochs: expected a whole number" read as a file of that name, and
    "expected an object, got int" is a programmer's (a message review)."""
    from core.typed_json import parse_json

    with pytest.raises(ConfigError) as err:
        StudioConfig.from_dict({"train": {"epochs": "ten"}}, "cfg.json")
    assert str(err.value) == ("cfg.json: train.epochs must be a whole number (such as 10), "
                              "not 'ten'; fix it there")
    with pytest.raises(ConfigError) as err:
        StudioConfig.from_dict({"train": 5}, "cfg.json")
    assert str(err.value) == ("cfg.json: train must be a section {...} of settings, not the "
                              "number 5; fix it there")
    with pytest.raises(ConfigError) as err:
        parse_json('{"a": "unterminated', "cfg.json", "config", "fix it")
    assert str(err.value) == ("cfg.json: not valid JSON at line 1, column 7: a text in double "
                              "quotes is not closed; fix it")


@pytest.mark.parametrize("text, said", [
    ('{"a": 1 "b": 2}', "at line 1, column 9: a comma, or a closing ] or }, is missing"),
    ('{"a": 1,\n}', "at line 2, column 1: a name is not in double quotes, or a comma comes "
                    "before a closing }"),
    ('{"a": True}', "at line 1, column 7: a value is missing or misspelt"),
    ('{"dir": "C:\\Users\\me"}', "a single backslash in double quotes: write a path with / or"),
    ('{"a": 1} x', "at line 1, column 10: something follows the end of the JSON"),
    ("\ufeff  \n", "cfg.json: not valid JSON at line 1: there is nothing in it; fix it"),
])
def test_a_json_mistake_is_said_in_plain_words(text, said):
    """The parser's own words ("Expecting ',' delimiter", "Invalid \\escape") told a person
    editing a settings file nothing; now they say what to look for, and where."""
    from core.typed_json import parse_json

    with pytest.raises(ConfigError) as err:
        parse_json(text, "cfg.json", "config", "fix it")
    assert said in str(err.value) and "Expecting" not in str(err.value)


def test_every_knob_of_the_window_has_its_train_flag(tmp_path, capsys):
    """Dropout, hidden units, the head solver, the schedule, label smoothing, patience, the
    augmentation seed and the image cache could be set only through --config; --augment reset
    a --config file's augmentation seed to 0; a help with "%" broke --help (a knobs review)."""
    import argparse

    from core.cli.commands import train

    parser = argparse.ArgumentParser()
    train.register(parser.add_subparsers())
    args = parser.parse_args([
        "train", str(tmp_path), "--dropout", "0.5", "--dense-units", "64", "--head-solver",
        "adam", "--lr-schedule", "plateau", "--label-smoothing", "0.05", "--patience", "3",
        "--augment", "medium", "--augment-seed", "7", "--cache-mb", "0"])
    cfg = train.config_from_args(args)
    assert (cfg.model.dropout, cfg.model.dense_units) == (0.5, 64)
    assert (cfg.train.head_solver, cfg.train.lr_schedule, cfg.train.label_smoothing,
            cfg.train.early_stopping_patience) == ("adam", "plateau", 0.05, 3)
    assert (cfg.augment.preset, cfg.augment.seed, cfg.data.cache_mb) == ("medium", 7, 0)
    saved = StudioConfig()
    saved.augment.seed = 11
    saved.save(tmp_path / "cfg.json")
    args = parser.parse_args(["train", str(tmp_path), "--config", str(tmp_path / "cfg.json"),
                              "--augment", "heavy"])
    assert train.config_from_args(args).augment.seed == 11
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    assert "less than 100 % sure" in " ".join(capsys.readouterr().out.split())


def test_the_two_seeds_of_the_window_have_flags_and_help_names_every_default(tmp_path, capsys):
    """(a review) The window has a split seed and a training seed; the CLI's one --seed set
    both, so a window run with two different seeds could not be repeated with flags. And
    train --help gave no default for --backbone, --unfreeze or --augment and Python's
    "(default True)" for a --flag/--no-flag switch."""
    import argparse

    from core.cli.commands import train

    parser = argparse.ArgumentParser()
    train.register(parser.add_subparsers())
    cfg = train.config_from_args(parser.parse_args(
        ["train", str(tmp_path), "--seed", "3", "--split-seed", "7"]))
    assert (cfg.data.seed, cfg.train.seed) == (7, 3)
    cfg = train.config_from_args(parser.parse_args(["train", str(tmp_path), "--seed", "5"]))
    assert (cfg.data.seed, cfg.train.seed) == (5, 5)  # --seed alone: both, as before
    with pytest.raises(SystemExit):
        parser.parse_args(["train", str(tmp_path), "--split-seed", "-1"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "any case (default MobileNetV2)" in out and "(default light)" in out
    assert "(default 30: the top 30)" in out
    assert "(default on)" in out and "default True" not in out


def test_augment_given_a_file_not_ending_in_json_is_read_as_a_file(tmp_path):
    """An A.save YAML file or a project was called an "unknown preset" with its whole path
    as the name, and the unknown-preset text never said a file could be given (a review)."""
    import argparse

    import albumentations as A

    from core.cli.commands import train
    from core.config import TransformConfig
    from core.project import Project, save_project

    parser = argparse.ArgumentParser()
    train.register(parser.add_subparsers())

    def augment(value):
        return train.config_from_args(parser.parse_args(
            ["train", str(tmp_path), "--augment", value])).augment

    yaml_file = tmp_path / "theirs.yaml"
    A.save(A.Compose([A.HorizontalFlip(p=0.3)]), str(yaml_file), data_format="yaml")
    with pytest.raises(ConfigError) as err:
        augment(str(yaml_file))
    assert str(yaml_file) in str(err.value) and "only JSON augmentation files" in str(err.value)
    assert "unknown preset" not in str(err.value)

    project = Project()
    project.config.augment.preset = "custom"
    project.config.augment.transforms = [TransformConfig("Rotate", p=0.3,
                                                         params={"limit": [-15, 15]})]
    path = save_project(project, tmp_path / "mine.ftsproj")
    assert [t.name for t in augment(str(path)).transforms] == ["Rotate"]

    with pytest.raises(ConfigError, match=r"unknown preset 'hevy'.*\.json augmentation file"):
        augment("hevy")
    assert augment("Heavy").preset == "heavy"


def test_a_preset_mistyped_with_a_dot_is_named_not_read_as_a_missing_file(tmp_path, capsys,
                                                                          monkeypatch):
    """`train --augment heavy.` said "heavy.: augmentation file not found", as if a file had
    been meant; a missing path with a folder in it keeps that message, and a file named like
    a preset that is there is still read."""
    import albumentations as A

    from core.cli import main

    monkeypatch.chdir(tmp_path)
    for typed, meant in (("heavy.", "heavy"), ("Light. ", "light"), ("medium.json", "medium")):
        assert main(["train", str(tmp_path), "--augment", typed]) == 2
        err = capsys.readouterr().err.strip()
        assert err == (f"error: --augment: unknown preset or missing file {typed!r}: did you "
                       f"mean the preset {meant!r}?")
    missing = tmp_path / "sub" / "heavy.json"
    assert main(["train", str(tmp_path), "--augment", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {missing}: augmentation file not found"

    A.save(A.Compose([A.VerticalFlip(p=0.3)]), "heavy.json", data_format="json")
    from core.cli.commands.train import augment_from_flag

    assert [t.name for t in augment_from_flag("heavy.json", 0).transforms] == ["VerticalFlip"]


def test_backbone_over_a_project_with_ticked_layers_goes_back_to_the_top_n(tmp_path, capsys):
    """--backbone over a project whose layers were ticked by name was refused as "has no
    layer 'block_5_expand' (--unfreeze)", a flag not given; the window resets them to the
    top N with a note, and so does train now (a review)."""
    import argparse

    from core.cli.commands import train
    from core.project import Project, save_project

    project = Project()
    project.config.model.freeze = FreezeConfig(mode="custom", layers=["block_5_expand"])
    path = save_project(project, tmp_path / "mine.ftsproj")
    parser = argparse.ArgumentParser()
    train.register(parser.add_subparsers())

    def freeze(*flags):
        return train.config_from_args(parser.parse_args(
            ["train", str(tmp_path), "--config", str(path), *flags])).model.freeze

    assert freeze("--backbone", "EfficientNetB0") == FreezeConfig(mode="top_n", top_n=30)
    err = capsys.readouterr().err
    assert f"warning: the layers {path} chose by name were MobileNetV2's" in err
    assert "top 30 layers of EfficientNetB0" in err
    assert freeze("--backbone", "mobilenetv2").layers == ["block_5_expand"]  # the same one
    assert freeze("--backbone", "EfficientNetB0", "--unfreeze", "5") == \
        FreezeConfig(mode="top_n", top_n=5)
    assert capsys.readouterr().err == ""


def test_a_picture_given_for_a_settings_file_is_not_told_to_be_saved_as_utf8(tmp_path):
    """Open file… on the Augment page with a PNG said "not UTF-8 text (byte 0x89 at position
    0); save it as UTF-8" (a review); UTF-16 text is still told to be saved as UTF-8."""
    from PIL import Image

    from core.data.augment_files import load_augment_file

    png = tmp_path / "shot.png"
    Image.new("RGB", (8, 8), (200, 10, 10)).save(png)
    with pytest.raises(ConfigError) as err:
        load_augment_file(png)
    assert str(err.value) == (f"{png}: not a text file (binary data, such as a picture, an "
                              "archive or a model); give an augmentation file")
    utf16 = tmp_path / "notepad.json"
    utf16.write_bytes('{"preset": "light"}'.encode("utf-16"))
    with pytest.raises(ConfigError, match="notepad.json: not UTF-8 text.*save it as UTF-8"):
        load_augment_file(utf16)


def test_an_image_size_the_backbone_refuses_names_the_flag_and_its_smallest_size(tmp_path):
    """(a review) `train --backbone Xception --image-size 32` was refused when the run began,
    after the data scan, as "model.image_size: 32 px ... use 0 for the default" (299 px): the
    flag given was not named, nor the smallest size Xception takes."""
    import argparse

    from core.cli.commands import train

    parser = argparse.ArgumentParser()
    train.register(parser.add_subparsers())
    args = parser.parse_args(["train", str(tmp_path), "--backbone", "xception",
                              "--weights", "none", "--image-size", "32"])
    with pytest.raises(ConfigError) as err:
        train.config_from_args(args)
    assert str(err.value).startswith("--image-size 32 px")
    assert "use 71 px or more, or 0 for its default 299 px" in str(err.value)
    saved = StudioConfig()
    saved.model.backbone, saved.model.image_size = "InceptionV3", 64
    saved.save(tmp_path / "cfg.json")
    args = parser.parse_args(["train", str(tmp_path), "--config", str(tmp_path / "cfg.json"),
                              "--weights", "none"])
    with pytest.raises(ConfigError, match=r"cfg\.json: model\.image_size: 64 px .* use 75 px or "
                       r"more.*override it with --image-size"):
        train.config_from_args(args)
