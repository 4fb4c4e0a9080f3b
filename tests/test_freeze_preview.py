"""core.insight.architecture and core.insight.explorer: what the Model and Network pages show,
computed without Qt by the engine's own calls (no rule re-encoded in the window)."""

import pytest

from core.config import FreezeConfig, ModelConfig
from core.insight.architecture import build_untrained, freeze_preview, preview_layers
from core.insight.explorer import (NetworkSpec, dataset_images, keras_model_file, load_network,
                                   run_images)
from core.model.build import apply_freeze
from core.model.layer_table import layer_table
from core.runs.folder import RunFolder


def small_cfg(**kw) -> ModelConfig:
    cfg = ModelConfig(backbone="MobileNetV3Small", image_size=32)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


@pytest.fixture(scope="module")
def model():
    return build_untrained(small_cfg(), 3)


def test_preview_counts_are_what_training_trains(model):
    cfg = small_cfg(freeze=FreezeConfig(mode="top_n", top_n=20))
    preview = freeze_preview(model, cfg)
    fresh = build_untrained(cfg, 3)
    apply_freeze(fresh, cfg.freeze, "head")
    trainable, total = apply_freeze(fresh, cfg.freeze, "fine_tune")
    assert (preview.trainable, preview.total) == (trainable, total)
    assert [(r.name, r.trainable) for r in preview.rows] == \
        [(r.name, r.trainable) for r in layer_table(fresh)]


def test_choosable_layers_come_from_the_engine(model):
    preview = freeze_preview(model, small_cfg())
    types = {r.name: r.type for r in preview.rows}
    assert preview.choosable and all(types[n] != "BatchNormalization" for n in preview.choosable)
    assert any(t == "Conv2D" and n in preview.choosable for n, t in types.items())
    assert not any(r.params == 0 and r.name in preview.choosable for r in preview.rows)
    assert not any(r.part != "backbone" and r.name in preview.choosable for r in preview.rows)


def test_a_preview_says_why_fine_tuning_would_be_skipped(model):
    """The top 2 layers of MobileNetV3Small hold no weights: the Model page said "…
    trained in fine-tuning (0 %)" with no reason, where training logs "nothing to unfreeze
    (…): the fine-tuning phase is skipped" (an every-backbone review)."""
    assert freeze_preview(model, small_cfg(freeze=FreezeConfig(mode="top_n", top_n=2))
                          ).skipped == "the layers chosen hold no weights that train"
    assert freeze_preview(model, small_cfg(freeze=FreezeConfig(mode="none"))
                          ).skipped == "unfreeze: none"
    assert freeze_preview(model, small_cfg(freeze=FreezeConfig(mode="top_n", top_n=20))
                          ).skipped == ""


def test_a_preview_does_not_depend_on_the_one_before(model):
    everything = freeze_preview(model, small_cfg(freeze=FreezeConfig(mode="all")))
    after = freeze_preview(model, small_cfg(freeze=FreezeConfig(mode="none")))
    fresh = freeze_preview(build_untrained(small_cfg(), 3),
                           small_cfg(freeze=FreezeConfig(mode="none")))
    assert everything.trainable > after.trainable == fresh.trainable
    assert not any(r.trainable for r in after.rows if r.part == "backbone")


def test_from_scratch_preview_trains_every_layer_like_training(model):
    # Regression: the Model page previewed weights "none" as if the backbone were
    # pretrained (BatchNorm frozen, only the chosen layers), but training from scratch
    # trains every layer, BatchNorm included.
    freeze = FreezeConfig(mode="top_n", top_n=5)
    scratch = freeze_preview(model, small_cfg(weights="none", freeze=freeze))
    pretrained = freeze_preview(model, small_cfg(freeze=freeze))
    fresh = build_untrained(small_cfg(weights="none"), 3)
    trainable, _total = apply_freeze(fresh, freeze, "fine_tune", from_scratch=True)
    assert scratch.trainable == trainable > pretrained.trainable
    assert all(r.trainable for r in scratch.rows if r.part == "backbone" and r.params)
    assert any(r.type == "BatchNormalization" and r.name in scratch.choosable
               for r in scratch.rows)


def test_preview_layers_builds_once_then_reuses_the_model():
    built, first = preview_layers(small_cfg(), 2)
    again, second = preview_layers(small_cfg(freeze=FreezeConfig(mode="none")), 2, built)
    assert again is built and second.trainable < first.trainable


def test_model_file_and_sample_images_of_a_run(trained_run, tmp_path):
    run = RunFolder(trained_run)
    assert keras_model_file(str(trained_run)) == str(run.model_path)
    assert keras_model_file(str(run.model_path)) == str(run.model_path)
    export = tmp_path / "model.tflite"
    export.write_bytes(b"TFL3")
    assert keras_model_file(str(export)) is None and keras_model_file("") is None
    images = run_images(str(run.model_path), limit=6)
    assert len(images) == 6
    classes = [p.split("/")[-2] for p in images]
    assert classes == ["bright", "dark"] * 3  # the classes in turn
    assert run_images(str(export)) == []


def test_load_network_reads_what_the_tabs_show_first(trained_run):
    run = RunFolder(trained_run)
    net = load_network(NetworkSpec("file", path=str(run.model_path)))
    assert net.first_conv == "backbone/conv" and net.first_filters.shape[0] == 16
    assert net.convs and net.convs[0].path == "backbone/conv" and net.convs[0].colour_ok
    assert len(net.inspection.rows) > 100 and net.probe.layers
    assert set(p.split("/")[-2] for p in net.images) == {"bright", "dark"}
    assert "hard_swish" in net.activations


def test_the_network_page_counts_what_the_run_trained_not_every_layer(trained_run, tmp_path):
    """A run's model.keras is saved from a fresh build, every layer trainable: the page
    called Conv1 and every batch norm trained (2,227,715 trainable where fine-tuning trained
    1,514,563: a review of the Network page)."""
    import shutil

    from core.model.build import apply_freeze
    from core.model.model_files import load_model_file

    run = RunFolder(trained_run)
    net = load_network(NetworkSpec("file", path=str(run.model_path)))
    assert net.phase == run.history()[-1]["phase"] == "fine_tune"
    rows = {r.path: r for r in net.inspection.rows}
    assert rows["backbone/conv"].trainable_params == 0  # below the top 8 layers: frozen
    norms = [r for r in net.inspection.rows if r.type == "BatchNormalization"]
    assert norms and all(r.trainable_params == 0 for r in norms)
    model = load_model_file(run.model_path)
    trained, _total = apply_freeze(model, run.load_config().model.freeze, "fine_tune")
    assert net.inspection.trainable_params == trained < net.inspection.total_params
    # the untrained view counts what the Model page's settings would train
    cfg = run.load_config()
    untrained = load_network(NetworkSpec("config", model_cfg=cfg.model, n_classes=2))
    assert untrained.phase == "fine_tune"
    assert untrained.inspection.trainable_params == trained
    loose = tmp_path / "m.keras"  # a model file of no run: Keras' flags, said to be so
    shutil.copyfile(run.model_path, loose)
    assert load_network(NetworkSpec("file", path=str(loose))).phase == ""


def test_dataset_images_take_the_classes_in_turn():
    class Rec:
        def __init__(self, path, class_name):
            self.path, self.class_name = path, class_name

    class Report:
        records = [Rec(f"a{i}", "a") for i in range(5)] + [Rec("b0", "b")]

    assert dataset_images(Report(), limit=4) == ["a0", "b0", "a1", "a2"]
    assert dataset_images(None) == []
