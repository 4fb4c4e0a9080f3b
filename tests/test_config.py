import json

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
])
def test_bad_configs_name_the_field(data, needle):
    with pytest.raises(ConfigError, match=needle):
        StudioConfig.from_dict(data)


def test_broken_json_file_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="broken.json"):
        StudioConfig.load(path)


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
