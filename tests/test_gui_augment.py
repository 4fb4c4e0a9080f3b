"""Augmentation page: presets and controls edit config.augment; previews follow."""

import numpy as np
import pytest

from core.data.augment import preset_config
from core.data.augment_specs import TRANSFORMS
from core.data.sample_data import generate_sample_dataset
from gui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    return shapes_window(qtbot, tmp_path)


def shapes_window(qtbot, tmp_path):
    """The window on a small folder of shapes, its scan done (test_gui_augment_files too)."""
    w = MainWindow(load_tensorflow=False)
    qtbot.addWidget(w, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    w.show()
    w.state.set("model.image_size", 64)  # small previews on a small machine
    root = generate_sample_dataset(tmp_path / "shapes", per_class=4, size=48, seed=2)
    with qtbot.waitSignal(w.data_page.scan_finished, timeout=60000):
        w.data_page.open_folder(str(root))
    return w


def pixels(qimage):
    img = qimage.convertToFormat(qimage.Format.Format_RGB888)
    return np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).copy()


def test_presets_update_config_and_previews(qtbot, window):
    page = window.augment_page
    with qtbot.waitSignal(page.previews_updated, timeout=60000) as sig:
        window.show_page(2)
    assert sig.args[0] == 3  # one image of each class
    assert page.preview_grid.count() == 3 * 6  # original + 5 versions per row
    assert len(page._groups) == len(TRANSFORMS)

    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        page.set_preset("none")
    assert window.state.config.augment == preset_config("none", seed=0)
    for _path, original, outs in page.preview_rows:
        assert all(np.array_equal(pixels(original), pixels(o)) for o in outs)
    assert not any(box.isChecked() for box in page._groups.values())

    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        page.set_preset("heavy")
    assert window.state.config.augment == preset_config("heavy", seed=0)
    changed = [not np.array_equal(pixels(orig), pixels(o))
               for _p, orig, outs in page.preview_rows for o in outs]
    assert sum(changed) >= len(changed) // 2
    assert page._groups["CoarseDropout"].isChecked()
    assert page._p_spins["CoarseDropout"].value() == 40

    before = [pixels(o) for o in page.preview_rows[0][2]]
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        page.reseed_button.click()
    after = [pixels(o) for o in page.preview_rows[0][2]]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_controls_edit_the_transform_in_place(qtbot, window):
    page = window.augment_page
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.show_page(2)
    light = preset_config("light")
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        page._groups["VerticalFlip"].setChecked(True)
    aug = window.state.config.augment
    assert aug.preset == "custom"
    assert page.preset_combo.currentData() == "custom"
    # in the page's order, not the order it was ticked in (a review): they run in that order
    assert [t.name for t in aug.transforms] == ["HorizontalFlip", "VerticalFlip"] + \
        [t.name for t in light.transforms][1:]
    assert aug.transforms[1].enabled

    # a parameter edit changes only that parameter of that transform
    editor = page._editors["RandomBrightnessContrast"]["brightness_limit"]
    editor._widgets[1].setValue(0.4)
    rbc = next(t for t in window.state.config.augment.transforms
               if t.name == "RandomBrightnessContrast")
    assert rbc.params["brightness_limit"] == [-0.15, 0.4]
    assert rbc.params["contrast_limit"] == [-0.15, 0.15]
    page._p_spins["HorizontalFlip"].setValue(80)
    hf = window.state.config.augment.transforms[0]
    assert (hf.name, hf.p) == ("HorizontalFlip", 0.8)

    # turning a transform off keeps its settings in the list, disabled
    page._groups["RandomBrightnessContrast"].setChecked(False)
    rbc = next(t for t in window.state.config.augment.transforms
               if t.name == "RandomBrightnessContrast")
    assert not rbc.enabled and rbc.params["brightness_limit"] == [-0.15, 0.4]


def test_the_seed_is_called_what_it_is(qtbot, window):
    """It was labelled "Training seed" (train.seed's name) though it edits augment.seed."""
    from PySide6.QtWidgets import QFormLayout

    page = next(p for p in window.pages if p.key == "augment")
    form = page.seed_spin.parentWidget().findChildren(QFormLayout)
    labels = [f.labelForField(page.seed_spin) for f in form if f.labelForField(page.seed_spin)]
    assert labels and labels[0].text() == "Augmentation seed:"


def test_controls_keep_what_they_cannot_show_and_the_page_shows_what_training_runs(
        qtbot, window):
    """A single number was shown as [-v, v] (albumentations reads ColorJitter's 0.2 as
    0.8..1.2) and written back so; Rotate ±270 was shown and written as ±180; the light
    preset's ratio 4/3 was written back as 1.33 when the other end changed; low over high
    was written as it stood; a second Rotate was not mentioned; choosing the preset in
    force again was an unsaved change; a failed preview kept the old pictures."""
    from core.config import AugmentConfig, TransformConfig

    page = window.augment_page
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.show_page(2)
    window.state.mark_saved()
    page.set_preset("light")  # the preset in force
    assert not window.state.dirty

    crop = page._editors["RandomResizedCrop"]["ratio"]
    crop._widgets[0].setValue(0.8)
    rrc = next(t for t in window.state.config.augment.transforms if t.name == "RandomResizedCrop")
    assert rrc.params["ratio"] == [0.8, 4 / 3]
    crop._widgets[0].setValue(1.5)  # over the high end: both move
    rrc = next(t for t in window.state.config.augment.transforms if t.name == "RandomResizedCrop")
    lo, hi = rrc.params["ratio"]
    assert lo == hi == pytest.approx(1.5)

    written = AugmentConfig(preset="custom", transforms=[
        TransformConfig("ColorJitter", True, 0.5, {"brightness": 0.2}),
        TransformConfig("Rotate", False, 0.5, {"limit": [-5, 5]}),
        TransformConfig("Rotate", True, 1.0, {"limit": [-270, 270]})])
    window.state.set("augment", written)
    jitter = page._editors["ColorJitter"]["brightness"]
    assert not jitter._widgets[0].isEnabled() and jitter.value() == 0.2
    page._p_spins["ColorJitter"].setValue(70)  # another control of the same transform
    cj = window.state.config.augment.transforms[0]
    assert cj.params["brightness"] == 0.2 and cj.p == 0.7
    second = page.others.boxes[0]  # the second copy, which training runs, has a box
    assert second.text().startswith("Rotate") and second.isChecked() and page.others.isVisible()

    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.state.set("augment", AugmentConfig(preset="custom", transforms=[
            TransformConfig("RandomResizedCrop", True, 1.0, {"scale": [0.9, 0.5]})]))
    assert page.preview_grid.count() == 0 and "Preview not possible" in page.banner.text()


def test_at_the_smallest_window_the_controls_are_as_wide_as_they_need(qtbot):
    """Built on first show, the controls were measured on "Loading the transforms…": the
    splitter kept that width, also when a row grew later, and their right edge was cut off
    at 900×600 (until a preview happened to lay the page out again)."""
    w = MainWindow(load_tensorflow=False)
    qtbot.addWidget(w, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    w.show()
    w.resize(w.minimumSize())
    page = w.augment_page
    w.show_page(2)
    from PySide6.QtWidgets import QApplication

    from core.config import AugmentConfig, TransformConfig

    QApplication.processEvents()
    w.state.set("augment", AugmentConfig(preset="custom", transforms=[  # a wider row now
        TransformConfig("ColorJitter", True, 0.5, {"brightness": 0.2})]))
    area = page.controls_area
    for _ in range(5):
        QApplication.processEvents()
    assert area.viewport().width() >= page.controls_host.minimumSizeHint().width()


def test_a_preview_of_images_gone_since_the_scan_says_so(qtbot, window):
    """The preview went blank, with no word, when its images were deleted after the scan (a
    window-messages review)."""
    import os

    page = window.augment_page
    for path in page.preview_paths():
        os.remove(path)
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.show_page(2)
    assert page.preview_rows == []
    assert "cannot be read now" in page.banner.text() and "Scan again" in page.banner.text()


def test_a_preview_at_a_size_training_refuses_says_so(qtbot, window):
    """Xception (71 px at least) kept MobileNetV2's 64 px: the previews showed 64 px
    pictures without a word while Start refused the size (a review)."""
    page = window.augment_page
    window.state.set("model.backbone", "Xception")
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.show_page(2)
    assert page.preview_rows and "training will refuse" in page.banner.text()
    assert "64 px" in page.banner.text() and "Xception" in page.banner.text()
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.state.set("model.image_size", 96)
    assert not page.banner.isVisible()


def test_a_parameter_a_setting_leaves_out_shows_the_value_training_uses(qtbot, window):
    """An imported A.Rotate(limit=90) (its default-valued arguments left out) showed the
    catalogue's -15 to 15 while training rotated by up to 90, and touching one end wrote
    -20..15 (a knobs review)."""
    from core.config import AugmentConfig, TransformConfig

    page = window.augment_page
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.show_page(2)
    window.state.set("augment", AugmentConfig(preset="custom", transforms=[
        TransformConfig("Rotate", True, 0.5, {}),
        TransformConfig("GaussNoise", True, 0.5, {})]))
    limit = page._editors["Rotate"]["limit"]
    assert [w.value() for w in limit._widgets] == [-90, 90]  # albumentations' own default
    noise = page._editors["GaussNoise"]["std_range"]
    assert [w.value() for w in noise._widgets] == pytest.approx([0.2, 0.44])
    limit._widgets[0].setValue(-20)
    assert window.state.config.augment.transforms[0].params["limit"] == [-20, 90]
    # as the transform reads its defaults: Affine's rotate=0.0 is the range 0..0, editable
    # (the raw signature's 0.0 and None showed "as written", the boxes hidden)
    window.state.set("augment", AugmentConfig(preset="custom", transforms=[
        TransformConfig("Affine", True, 0.5, {})]))
    # translate_percent left out shifts nothing (translate_px is 0): it read the catalogue's
    # -0.1..0.1 (left alone in session 22)
    for key, want in (("rotate", [0, 0]), ("scale", [1, 1]), ("translate_percent", [0, 0])):
        ed = page._editors["Affine"][key]
        assert [w.value() for w in ed._widgets] == pytest.approx(want), key
        assert ed._widgets[0].isEnabled(), key


def test_a_ticked_transform_runs_where_the_page_lists_it():
    """Ticked on the page, a transform was appended: noise ticked before blur ran before it,
    the same ticks in the other order gave other training images (a review)."""
    from core.config import TransformConfig
    from core.data.augment_specs import listed_position

    listed = [TransformConfig("HorizontalFlip"), TransformConfig("GaussNoise")]
    assert listed_position(listed, "GaussianBlur") == 1  # before the noise, as listed
    assert listed_position(listed, "Perspective") == 1  # with the geometry, before noise
    assert listed_position(listed, "CoarseDropout") == 2
    assert listed_position(listed, "NotListed") == 2  # a file's own transform: at the end


def test_a_choice_the_drop_down_has_no_entry_for_is_shown_and_kept_as_written(qtbot, window):
    """A project's Rotate border_mode 2 (mirror without the edge) and a cut-out fill of
    [255, 0, 0] showed "black" while the previews and training used the real values; picking
    another and "black" again wrote 0 (a review)."""
    from core.config import AugmentConfig, TransformConfig

    page = window.augment_page
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.show_page(2)
    written = AugmentConfig(preset="custom", transforms=[
        TransformConfig("Rotate", True, 1.0, {"limit": [-30, 30], "border_mode": 2}),
        TransformConfig("CoarseDropout", True, 1.0, {"fill": [255, 0, 0]})])
    window.state.set("augment", written)
    border = page._editors["Rotate"]["border_mode"]
    fill = page._editors["CoarseDropout"]["fill"]
    assert border._widgets[0].currentText() == "2 (as written)" and border.value() == 2
    assert fill._widgets[0].currentText() == "[255, 0, 0] (as written)"
    page._p_spins["Rotate"].setValue(90)  # another control of the same transform
    rotate = window.state.config.augment.transforms[0]
    assert rotate.params["border_mode"] == 2 and rotate.p == 0.9
    combo = border._widgets[0]
    combo.setCurrentIndex(combo.findText("mirror"))  # the user picks another, then goes back
    combo.setCurrentIndex(combo.findText("2 (as written)"))
    assert window.state.config.augment.transforms[0].params["border_mode"] == 2
    assert window.state.config.augment.transforms[1].params["fill"] == [255, 0, 0]
    window.state.set("augment", preset_config("heavy", seed=0))  # a value it has: no extra
    assert fill._widgets[0].findText("[255, 0, 0] (as written)") == -1
    assert fill.value() == 0 and fill._widgets[0].currentText() == "black"


def test_a_transform_without_controls_can_be_switched_off_and_on(qtbot, window):
    """A transform the page has no controls for (from an imported file) was one line of
    names at the bottom of the page and could not be switched off; now each has a check
    box, the configuration keeps it with enabled false, and the preview follows."""
    from PySide6.QtCore import QPoint, Qt

    from core.config import AugmentConfig, TransformConfig

    page = window.augment_page
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.show_page(2)
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.state.set("augment", AugmentConfig(preset="custom", transforms=[
            TransformConfig("Blur", False, 0.5, {}),
            TransformConfig("InvertImg", True, 1.0, {})]))
    [box] = page.others.boxes
    assert box.text() == "InvertImg" and box.isChecked() and box.isVisible()
    assert all(not np.array_equal(pixels(orig), pixels(o))
               for _p, orig, outs in page.preview_rows for o in outs)

    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))  # its tick
    aug = window.state.config.augment
    assert [(t.name, t.enabled) for t in aug.transforms] == [("Blur", False), ("InvertImg", False)]
    assert aug.preset == "custom" and window.state.dirty
    assert all(np.array_equal(pixels(orig), pixels(o))  # nothing runs now
               for _p, orig, outs in page.preview_rows for o in outs)

    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))
    assert window.state.config.augment.transforms[1].enabled and box.isChecked()
    assert all(not np.array_equal(pixels(orig), pixels(o))
               for _p, orig, outs in page.preview_rows for o in outs)

    # a transform ticked above goes first (the page's order): the box still switches its own
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        page._groups["VerticalFlip"].setChecked(True)
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))
    assert [(t.name, t.enabled) for t in window.state.config.augment.transforms] == [
        ("VerticalFlip", True), ("Blur", False), ("InvertImg", False)]


def test_a_transform_the_app_cannot_build_says_where_to_switch_it_off(qtbot, window):
    """A project's misspelt transform stopped the preview, and a Train start, with the advice
    for a settings file ("use an albumentations class name such as ..."), not the window's
    way out (a review)."""
    from core.config import AugmentConfig, TransformConfig

    page = window.augment_page
    window.show_page(2)
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.state.set("augment", AugmentConfig(preset="custom", transforms=[
            TransformConfig("HorizontalFlip", True, 0.5), TransformConfig("Blurrr", True, 0.5)]))
    said = page.banner.text()
    assert "augment.transforms[1]: unknown transform 'Blurrr'" in said
    assert "On the Augmentation page (step 3), untick that transform" in said
    assert page.others.boxes[0].text().startswith("Blurrr")  # where it is unticked

    train = next(p for p in window.pages if p.key == "train")
    window.state.set("train.epochs", 1)
    job = train.start()
    with qtbot.waitSignal(job.done, timeout=120000):
        pass
    assert "untick that transform" in train.banner.text()
