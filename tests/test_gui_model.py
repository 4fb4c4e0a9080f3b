"""Model page: backbone choice, a layer tree built in a worker with real Keras, and the
fine-tuning controls changing config.model.freeze and the trainable count."""

import copy

from PySide6.QtCore import Qt

from core.model.backbones import CATALOG
from core.config import FreezeConfig
from core.data.sample_data import generate_sample_dataset


def layer_items(page):
    out = []
    for i in range(page.tree.topLevelItemCount()):
        block = page.tree.topLevelItem(i)
        out += [block.child(j) for j in range(block.childCount())]
    return out


def test_layer_tree_and_freeze_controls(qtbot, window, tmp_path):
    root = generate_sample_dataset(tmp_path / "shapes", per_class=4, size=32, seed=4)
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.data_page.open_folder(str(root))
    page = window.model_page
    assert page.table.rowCount() == len(CATALOG)
    assert "MobileNetV2" in page.recommend_label.text()  # 12 images: the small one

    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(64)
    assert window.state.config.model.backbone == "MobileNetV3Small"
    with qtbot.waitSignal(page.layers_ready, timeout=240000) as sig:
        window.show_page(1)
    assert sig.args[0] == len(page.rows) > 100
    items = layer_items(page)
    assert len(items) == len(page.rows)
    assert {"backbone", "head"} <= {r.part for r in page.rows}
    total = page.total_params
    assert total > 900_000

    with qtbot.waitSignal(page.counts_changed, timeout=10000):
        page.set_freeze_mode("none")
    head_only = page.trainable_params
    assert 0 < head_only < 10_000  # 3 classes: the dense softmax head
    text = page.counts_label.text()  # said "trained in fine-tuning", then "skips it"
    assert f"Only the new head's {head_only:,} train" in text and "unfreeze" not in text
    assert "the whole backbone stays frozen, so the fine-tuning phase is skipped" in text
    assert page.checked_layer_count() == 0

    with qtbot.waitSignal(page.counts_changed, timeout=10000):
        page.top_n_spin.setValue(20)  # the "unfreeze the top N" control
    assert window.state.config.model.freeze == FreezeConfig(mode="top_n", top_n=20)
    top20 = page.trainable_params
    assert top20 > head_only
    assert 0 < page.checked_layer_count() <= 20
    assert str(f"{top20 / 1e6:.1f} M") in page.counts_label.text() or \
        f"{top20:,}" in page.counts_label.text()

    with qtbot.waitSignal(page.counts_changed, timeout=10000):
        page.top_n_spin.setValue(60)
    assert page.trainable_params > top20

    # ticking one layer by hand means "exactly these layers"
    first = next(it for it in items if it.flags() & Qt.ItemIsUserCheckable
                 and it.checkState(0) == Qt.Unchecked)
    name = first.data(0, Qt.UserRole)
    with qtbot.waitSignal(page.counts_changed, timeout=10000):
        first.setCheckState(0, Qt.Checked)
    freeze = window.state.config.model.freeze
    assert freeze.mode == "custom" and name in freeze.layers
    assert page.mode_combo.currentData() == "custom"

    with qtbot.waitSignal(page.counts_changed, timeout=10000):
        page.set_freeze_mode("all")
    assert page.trainable_params > page.total_params * 0.9
    # a block's box selects all of its choosable layers at once
    with qtbot.waitSignal(page.counts_changed, timeout=10000):
        page.set_freeze_mode("none")
    block = next(page.tree.topLevelItem(i) for i in range(page.tree.topLevelItemCount())
                 if page.tree.topLevelItem(i).flags() & Qt.ItemIsUserCheckable)
    names = [block.child(j).data(0, Qt.UserRole) for j in range(block.childCount())
             if block.child(j).flags() & Qt.ItemIsUserCheckable]
    with qtbot.waitSignal(page.counts_changed, timeout=10000):
        block.setCheckState(0, Qt.Checked)
    assert sorted(window.state.config.model.freeze.layers) == sorted(names)
    assert block.checkState(0) == Qt.Checked


def test_a_weights_file_that_does_not_fit_stays_said(qtbot, window, tiny_weights):
    """The layer list finishing after the check wiped the check's error, so choosing a file
    of another model seemed to do nothing; and "The file fits this backbone" stayed after
    the backbone changed, until Start failed on the Train page."""
    page = window.model_page
    window.show_page(1)  # the layer list of MobileNetV2 starts building
    page.set_weights_file(tiny_weights)  # a MobileNetV3Small file
    qtbot.waitUntil(lambda: page.built_key is not None
                    and "does not fit" in page.banner.text(), timeout=240000)
    assert page.banner.isVisible() and window.state.config.model.weights == "imagenet"

    page.select_backbone("MobileNetV3Small")
    page.clear_message()
    page.set_weights_file(tiny_weights)
    qtbot.waitUntil(lambda: page.weights_status.text() == "The file fits this backbone.",
                    timeout=240000)
    assert window.state.config.model.weights == tiny_weights
    page.select_backbone("MobileNetV2")  # the file is checked again
    qtbot.waitUntil(lambda: "does not fit" in page.banner.text(), timeout=240000)
    assert page.weights_status.text() != "The file fits this backbone."
    assert "use the ImageNet weights" in page.banner.text()  # not "weights 'imagenet'"
    page.w_none.click()  # the refusal stayed up beside the new choice
    assert not page.banner.isVisible() and window.state.config.model.weights == "none"


def _checks_done(page):
    from gui.jobs import Job

    return not any(j.is_running() for j in page.findChildren(Job))


def test_a_slow_weights_check_never_overrides_a_later_choice(qtbot, window, tiny_weights):
    """A check finishing after the user chose None set the file back; one finishing after
    another backbone was picked said "fits" of the file for the old one."""
    page = window.model_page
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    page.set_weights_file(tiny_weights)
    page.w_none.click()  # at once, while the file is still being checked
    qtbot.waitUntil(lambda: _checks_done(page), timeout=120000)
    assert window.state.config.model.weights == "none" and page.w_none.isChecked()

    page.set_weights_file(tiny_weights)
    page.select_backbone("MobileNetV2")  # before the check of the MobileNetV3Small file ends
    qtbot.waitUntil(lambda: "does not fit" in page.banner.text(), timeout=240000)
    assert window.state.config.model.weights != tiny_weights
    assert page.weights_status.text() != "The file fits this backbone."


def test_fine_tuning_from_no_layer_is_not_chosen_and_a_failed_build_clears_the_tree(
        qtbot, window):
    page = window.model_page
    window.show_page(1)
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() > 0, timeout=240000)
    before = window.state.config.model.freeze
    page.tree.clearSelection()
    page.tree.setCurrentItem(None)
    page.set_freeze_mode("from_layer")
    assert window.state.config.model.freeze == before  # not "from layer ''"
    assert "Select a block or layer" in page.banner.text()
    # nor from a head layer: "from 'probabilities'" was taken, and failed only at Start
    head = next(it for it in layer_items(page) if it.data(0, Qt.UserRole) == "probabilities")
    page.tree.setCurrentItem(head)
    page.freeze_controls.from_button.click()
    assert window.state.config.model.freeze == before
    assert "layer of the backbone" in page.banner.text()
    # a block, as the list shows them closed, is from its first layer: it was refused as
    # "Select a layer of the backbone in the list first" (a review)
    from gui.pages.model.layer_tree import PART_ROLE

    block = [page.tree.topLevelItem(i) for i in range(page.tree.topLevelItemCount())
             if page.tree.topLevelItem(i).child(0).data(0, PART_ROLE) == "backbone"][-2]
    page.tree.setCurrentItem(block)
    page.freeze_controls.from_button.click()
    freeze = window.state.config.model.freeze
    assert freeze.mode == "from_layer"
    assert freeze.from_layer == block.child(0).data(0, Qt.UserRole)

    page.select_backbone("Xception")  # 32 px is below what Xception accepts
    qtbot.waitUntil(lambda: "Xception accepts" in page.banner.text(), timeout=240000)
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() == 0, timeout=60000)
    assert page.counts_label.text() == ""


def test_layers_chosen_on_one_backbone_are_not_kept_for_another(qtbot, window):
    """Ticked layers named the old backbone's layers: the list emptied under "has no layer
    'conv'" and stayed empty whatever mode was chosen."""
    page = window.model_page
    window.show_page(1)
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    qtbot.waitUntil(lambda: page.built_key is not None and page.built_key[0] ==
                    "MobileNetV3Small", timeout=240000)
    item = next(it for it in layer_items(page) if it.flags() & Qt.ItemIsUserCheckable
                and it.checkState(0) == Qt.Unchecked)
    with qtbot.waitSignal(page.counts_changed, timeout=10000):
        item.setCheckState(0, Qt.Checked)
    assert window.state.config.model.freeze.mode == "custom"
    chosen = copy.deepcopy(window.state.config.model.freeze)
    page.select_backbone("MobileNetV2")
    assert window.state.config.model.freeze == FreezeConfig(top_n=30)
    assert "back to the top 30 layers of MobileNetV2" in page.banner.text()
    # a tick in the old backbone's tree, still shown while the new one builds, is not
    # taken: its names were stored for MobileNetV2 and the new tree came out empty
    assert page.built_key[0] == "MobileNetV3Small"
    other = next(it for it in layer_items(page) if it.flags() & Qt.ItemIsUserCheckable
                 and it.checkState(0) == Qt.Unchecked)
    other.setCheckState(0, Qt.Checked)
    assert window.state.config.model.freeze == FreezeConfig(top_n=30)
    qtbot.waitUntil(lambda: page.built_key is not None and page.built_key[0] == "MobileNetV2",
                    timeout=240000)
    assert page.tree.topLevelItemCount() > 0 and page.counts_label.text()
    assert "has no layer" not in page.banner.text()
    # back on MobileNetV3Small, its ticks come back: they were lost without a trace, and
    # the one line that said so was soon replaced by the weights check's (a review)
    page.select_backbone("MobileNetV3Small")
    assert window.state.config.model.freeze == chosen
    assert "The layers chosen on MobileNetV3Small before are back" in page.banner.text()
    page.select_backbone("MobileNetV2")
    window.state.set("model.freeze", FreezeConfig(top_n=12))  # chosen anew: nothing comes back
    page.select_backbone("MobileNetV3Small")
    assert window.state.config.model.freeze == FreezeConfig(top_n=12)


def test_a_weights_file_is_checked_once_the_size_stops_changing(qtbot, window, tiny_weights):
    """Each step of the size box started its own check: six builds ran at once."""
    from gui.jobs import Job

    page = window.model_page
    window.show_page(1)
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    page.set_weights_file(tiny_weights)
    qtbot.waitUntil(lambda: _checks_done(page), timeout=120000)
    running = []
    for size in range(40, 100, 10):
        page.size_spin.setValue(size)
        running.append(sum(j.is_running() for j in page.findChildren(Job)))
    assert max(running) <= 1 and page.weights_status.text() == "Checking the file…"
    qtbot.waitUntil(lambda: page.weights_status.text() != "Checking the file…"
                    or page.banner.isVisible(), timeout=240000)
    assert window.state.config.model.image_size == 90


def test_a_project_whose_weights_file_is_gone_says_so(qtbot, window, tmp_path):
    """Loaded without a word; choosing the same path by hand said "not found" at once."""
    page = window.model_page
    window.show_page(1)
    cfg = window.state.config.copy()
    cfg.model.backbone, cfg.model.image_size = "MobileNetV3Small", 32
    cfg.model.weights = str(tmp_path / "gone" / "backbone.weights.h5")
    window.state.replace_config(cfg)
    qtbot.waitUntil(lambda: "backbone.weights.h5" in page.banner.text(), timeout=60000)
    assert page.banner.isVisible()


def test_a_weights_status_of_another_backbone_is_cleared(qtbot, window):
    page = window.model_page
    page.weights_status.setText("MobileNetV2's ImageNet weights are ready (kept in the Keras "
                                "cache).")
    page.select_backbone("ResNet50")
    assert page.weights_status.text() == ""


def test_a_backbone_this_version_lacks_is_said_and_any_row_fixes_it(qtbot, window):
    """A project naming "ResNet18" left MobileNetV2 highlighted, and clicking it did nothing."""
    page = window.model_page
    window.show_page(1)
    cfg = window.state.config.copy()
    cfg.model.backbone = "ResNet18"
    window.state.replace_config(cfg)
    assert page.table.selected_name() is None
    assert "'ResNet18'" in page.banner.text() and "choose one in the table" in page.banner.text()
    row = next(r for r in range(page.table.rowCount()) if page.table.name_at(r) == "MobileNetV2")
    page.table.selectRow(row)
    assert window.state.config.model.backbone == "MobileNetV2"
    window.state.set("model.dropout", 0.125)  # was shown as 0.13 while 0.125 trained
    assert page.dropout_spin.value() == 0.125 and page.dropout_spin.text().endswith("125")


def test_training_from_scratch_offers_no_layer_choice(qtbot, window):
    """From random weights every layer learns: unticking one switched the mode to "custom",
    ticked itself again and changed nothing."""
    page = window.model_page
    window.show_page(1)
    page.w_none.click()
    assert window.state.config.model.weights == "none"
    assert not page.mode_combo.isEnabled() and not page.tree.isEnabled()
    assert "every layer learns" in page.mode_combo.toolTip()
    assert "every layer learns" in page.freeze_controls.from_label.text()  # said, not only hovered
    page.w_imagenet.click()
    assert page.mode_combo.isEnabled() and page.tree.isEnabled()


def test_nasnet_imagenet_weights_take_a_size_other_than_224(qtbot, window):
    """NASNetMobile with ImageNet weights was refused at any size but 224 ("its ImageNet
    weights need 224 px"), a limit its no-top file does not have: the same file chosen by
    hand trained at 96 px (a review)."""
    page = window.model_page
    page.w_imagenet.click()
    page.select_backbone("NASNetMobile")
    page.size_spin.setValue(128)
    assert "224" not in page.banner.text()  # the refusal was "... need 224 px, not 128"
    assert window.state.config.model.image_size == 128


def test_a_check_under_way_is_not_lost_to_a_size_change_nor_kept_across_projects(
        qtbot, window, tiny_weights, tmp_path):
    import shutil

    page = window.model_page
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    page.set_weights_file(tiny_weights)
    qtbot.waitUntil(lambda: window.state.config.model.weights == tiny_weights, timeout=120000)
    other = str(tmp_path / "other.weights.h5")
    shutil.copy(tiny_weights, other)
    page.set_weights_file(other)  # being checked ...
    page.size_spin.setValue(48)  # ... when the size changes: the new file is checked again
    qtbot.waitUntil(lambda: window.state.config.model.weights == other, timeout=120000)

    page.set_weights_file(tiny_weights)  # a check under way when another project opens
    cfg = window.state.config.copy()
    cfg.model.weights = "imagenet"
    window.state.replace_config(cfg)
    qtbot.waitUntil(lambda: _checks_done(page), timeout=120000)
    timer = getattr(page, "_recheck_timer", None)  # and nothing waits to check it again
    assert timer is None or not timer.isActive()
    assert window.state.config.model.weights == "imagenet"


def test_imagenet_spelled_in_capitals_in_a_project_is_not_taken_for_a_file(qtbot, window):
    page = window.model_page
    cfg = window.state.config.copy()
    cfg.model.weights = "ImageNet"
    window.state.replace_config(cfg)
    timer = getattr(page, "_recheck_timer", None)
    assert timer is None or not timer.isActive()
    assert "not found" not in page.banner.text() and page.w_imagenet.isChecked()


def test_a_step_up_from_the_default_size_goes_to_that_size_not_to_32(qtbot, window):
    """One click on the up arrow from "default (299 px)" gave 32 px, which Xception refuses;
    33 to 70 could be typed too."""
    from PySide6.QtGui import QValidator

    page = window.model_page
    page.select_backbone("Xception")
    assert page.size_spin.value() == 0
    page.size_spin.stepBy(1)
    assert page.size_spin.value() == 299 and window.state.config.model.image_size == 299
    page.size_spin.setValue(71)
    page.size_spin.stepBy(-1)  # under the backbone's smallest: back to the default
    assert page.size_spin.value() == 0
    assert page.size_spin.validate("40", 2)[0] == QValidator.Intermediate
    page.select_backbone("MobileNetV3Small")
    page.size_spin.stepBy(1)
    assert page.size_spin.value() == 224


def test_a_narrow_layer_tree_gives_its_width_to_the_names(qtbot):
    """At the smallest window an opened block left the Layer column some 20 px wide."""
    from gui.pages.model.layer_tree import LayerTree

    tree = LayerTree()
    qtbot.addWidget(tree)
    tree.show()
    tree.resize(330, 300)
    qtbot.waitUntil(lambda: tree.isColumnHidden(2) and tree.isColumnHidden(1), timeout=5000)
    assert not tree.isColumnHidden(0) and not tree.isColumnHidden(3)
    tree.resize(900, 300)
    qtbot.waitUntil(lambda: not tree.isColumnHidden(1) and not tree.isColumnHidden(2),
                    timeout=5000)


def test_a_download_is_ready_only_for_the_settings_it_fetched(qtbot, window, monkeypatch):
    """MobileNetV2 at 96 px downloading, the size set to 128 px meanwhile: the page ended
    "MobileNetV2's ImageNet weights are ready" with only the 96 px file there (a weights
    review)."""
    import threading

    from gui.pages.model import weights_actions

    release = threading.Event()
    monkeypatch.setattr(weights_actions, "weights_job",
                        lambda model_cfg, listener=None, cancel=None: release.wait(30))
    page = window.model_page
    window.state.set("model.backbone", "MobileNetV2")
    window.state.set("model.image_size", 96)
    page.download_weights()
    assert page.weights_status.text() == "Downloading…"
    window.state.set("model.image_size", 128)  # another file: MobileNetV2 has one per size
    release.set()
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=10000)
    qtbot.waitUntil(lambda: page.weights_status.text() != "Downloading…", timeout=5000)
    assert page.weights_status.text().startswith("The download was MobileNetV2's for other "
                                                 "settings")
    release.clear()
    page.download_weights()
    window.state.set("model.image_size", 128)  # the same settings: ready
    release.set()
    qtbot.waitUntil(lambda: "are ready" in page.weights_status.text(), timeout=10000)


def test_a_weights_path_typed_with_a_tilde_is_the_home_folders_file(qtbot, window,
                                                                    tiny_weights, monkeypatch):
    """"~/file" was refused as "<working folder>/~/file not found", though train and a
    project file read it from the home folder (a review)."""
    import os

    monkeypatch.setenv("HOME", os.path.dirname(tiny_weights))
    page = window.model_page
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    page.set_weights_file("~/" + os.path.basename(tiny_weights))
    qtbot.waitUntil(lambda: page.weights_status.text() == "The file fits this backbone."
                    or "not found" in page.banner.text(), timeout=240000)
    assert "not found" not in page.banner.text(), page.banner.text()
    assert window.state.config.model.weights == tiny_weights


def test_the_count_line_of_a_skipped_fine_tuning_says_it_once_in_the_windows_words():
    """"3,843 trained in fine-tuning (0 %): none of the backbone's (unfreeze: none), so
    training skips it": trained and skipped at once, in the CLI's words (a review)."""
    from core.insight.architecture import FreezePreview
    from gui.pages.model.settings import counts_text

    for skipped, words in (("unfreeze: none", "the whole backbone stays frozen"),
                           ("no layer ticked", "no layer is ticked"),
                           ("the layers chosen hold no weights that train",
                            "the layers chosen hold no weights that train")):
        text = counts_text(FreezePreview([], frozenset(), 3843, 2_300_000, skipped))
        assert text == ("Parameters: 2.3 M in total. Only the new head's 3,843 train, in the "
                        f"first phase: {words}, so the fine-tuning phase is skipped.")
    assert counts_text(FreezePreview([], frozenset(), 1_200_000, 2_400_000)) == \
        "Parameters: 2.4 M in total, 1.2 M trained in fine-tuning (50 %)"


def test_start_waits_for_a_weights_file_still_being_checked(qtbot, window, tiny_weights,
                                                          tmp_path):
    """Start pressed during "Checking the file…" trained from the weights before (none):
    the file became the setting only once its check ended (a review)."""
    root = generate_sample_dataset(tmp_path / "shapes", per_class=4, size=32, seed=4)
    window.state.set("data.data_dir", str(root))
    page = window.model_page
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    page.w_none.click()
    page.set_weights_file(tiny_weights)
    assert window.runner.is_busy() and window.runner.current.name == \
        "Checking the weights file"
    train_page = next(p for p in window.pages if type(p).__name__ == "TrainPage")
    assert train_page.start() is None  # refused, not a run from no weights
    assert "Checking the weights file" in train_page.banner.text()
    qtbot.waitUntil(lambda: page.weights_status.text() == "The file fits this backbone.",
                    timeout=240000)
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=10000)
    assert window.state.config.model.weights == tiny_weights


def test_from_a_chosen_layer_takes_the_layer_selected_now(qtbot, window):
    """With a layer chosen before, "Fine-tune from a chosen layer upwards" brought that one
    back while another was selected in the list (a review)."""
    page = window.model_page
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    with qtbot.waitSignal(page.layers_ready, timeout=240000):
        window.show_page(1)
    backbone = [it for it in layer_items(page) if it.data(0, Qt.UserRole) in
                {r.name for r in page.rows if r.part == "backbone" and r.params}]
    first, later = backbone[len(backbone) // 2], backbone[-5]
    page.tree.setCurrentItem(first)
    page.set_freeze_mode("from_layer")
    assert window.state.config.model.freeze.from_layer == first.data(0, Qt.UserRole)
    page.set_freeze_mode("top_n")
    page.tree.setCurrentItem(later)
    page.set_freeze_mode("from_layer")
    assert window.state.config.model.freeze.from_layer == later.data(0, Qt.UserRole)


def test_a_weights_file_that_fits_again_leaves_the_note_on_the_ticks(qtbot, window,
                                                                     tiny_weights):
    """Back on the file's backbone, its check cleared the whole banner, and with it the one
    line about the layers ticked there (a review)."""
    page = window.model_page
    window.show_page(1)
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    page.set_weights_file(tiny_weights)
    qtbot.waitUntil(lambda: page.weights_status.text() == "The file fits this backbone."
                    and page.built_key is not None and page.built_key[0] == "MobileNetV3Small",
                    timeout=240000)
    layer = next(r.name for r in reversed(page.rows) if r.part == "backbone" and r.params)
    page.state.set("model.freeze", FreezeConfig(mode="custom", layers=[layer]))
    page.select_backbone("MobileNetV2")
    qtbot.waitUntil(lambda: "does not fit" in page.banner.text(), timeout=240000)
    page.select_backbone("MobileNetV3Small")
    qtbot.waitUntil(lambda: page.weights_status.text() == "The file fits this backbone.",
                    timeout=240000)
    assert "The layers chosen on MobileNetV3Small before are back" in page.banner.text()
    assert window.state.config.model.freeze.mode == "custom"


def test_the_layer_tree_keeps_its_open_blocks_and_selection_when_the_head_changes(qtbot,
                                                                                  window):
    """Each step of Dropout or Hidden units rebuilt the backbone and collapsed the tree,
    dropping the layer selected for "Fine-tune from the selected layer" (a review)."""
    page = window.model_page
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(32)
    with qtbot.waitSignal(page.layers_ready, timeout=240000):
        window.show_page(1)
    blocks = [page.tree.topLevelItem(i) for i in range(page.tree.topLevelItemCount())]
    opened = [b for b in blocks if b.childCount() > 1][2:4]
    for block in opened:
        block.setExpanded(True)
    opened_names = [b.text(0) for b in opened]
    chosen = opened[1].child(1).data(0, Qt.UserRole)
    page.tree.setCurrentItem(opened[1].child(1))
    model = page._model
    window.state.set("model.dropout", 0.3)  # changes no layer: nothing is built again
    assert not page._rebuild_timer.isActive() and page._model is model
    with qtbot.waitSignal(page.layers_ready, timeout=240000):
        window.state.set("model.dense_units", 64)  # a head layer more: the backbone's stay
    expanded = [page.tree.topLevelItem(i).text(0) for i in range(page.tree.topLevelItemCount())
                if page.tree.topLevelItem(i).isExpanded()]
    assert expanded == opened_names
    assert page.tree.selected_layer() == chosen


def test_the_line_under_the_layer_tree_says_every_layer_trains_from_random_weights(
        qtbot, window):
    """With weights None the greyed tree still said "160 layers. Tick layers to choose them
    yourself" (a review): it says every layer trains, and the tick hint comes back with
    pretrained weights."""
    page = window.model_page
    page.select_backbone("MobileNetV3Small")
    page.size_spin.setValue(64)
    with qtbot.waitSignal(page.layers_ready, timeout=240000):
        window.show_page(1)
    assert "Tick layers" in page.layers_status.text()
    page.w_none.click()
    assert "every layer trains" in page.layers_status.text()
    assert "Tick" not in page.layers_status.text()
    page.w_imagenet.click()
    assert "Tick layers" in page.layers_status.text()
