"""Inside the network: every tab fills from a real trained model (or the Model page's
architecture before training), and what it shows agrees with core computed independently."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from core.insight.activations import curve
from core.insight.formulas import conv_output_size
from core.insight.layers import inspect_layers
from core.insight.feature_maps import feature_maps
from core.data.imageio import load_rgb
from core.insight.kernels import filter_channels, filter_tiles

LOAD_MS = 180000
WORK_MS = 60000

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def network_index(window) -> int:
    return next(i for i, p in enumerate(window.pages) if p.key == "network")


@pytest.fixture
def page(qtbot, window, trained_run):
    window.state.set_run(str(trained_run))
    index = network_index(window)
    page = window.pages[index]
    with qtbot.waitSignal(page.model_ready, timeout=LOAD_MS):
        window.show_page(index)
    qtbot.waitUntil(page.is_ready, timeout=WORK_MS)
    assert page.banner.isHidden(), page.banner.text()
    return page


def trainable_count(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_layers_kernels_and_activations(qtbot, page, trained_run):
    model = page.network.model
    assert "run" in page.source_label.text() and "trained" in page.source_label.text()

    # Layers: one row per inspected layer, Keras' own totals.
    inspection = inspect_layers(model)
    assert page.layers_tab.row_count() == len(inspection.rows) > 100
    totals = page.layers_tab.totals_label.text()
    assert f"{model.count_params():,}" in totals
    assert f"{trainable_count(model):,}" in totals
    conv_row = next(r for r, info in enumerate(inspection.rows) if info.path == "backbone/conv")
    assert page.layers_tab.table.item(conv_row, 4).text().endswith("✓")
    page.layers_tab.table.selectRow(conv_row)
    assert "432" in page.layers_tab.detail.text()  # 3·3·3·16 weights
    page.layers_tab.filter_edit.setText("DepthwiseConv2D")
    visible = [r for r in range(page.layers_tab.row_count())
               if not page.layers_tab.table.isRowHidden(r)]
    assert visible and all(inspection.rows[r].type == "DepthwiseConv2D" for r in visible)

    # Kernels: the first convolution's 16 filters as colour tiles, pixels from core.
    page.show_tab("kernels")
    tab = page.kernels_tab
    assert tab.view is not None and tab.view.layer == "backbone/conv"
    tiles = filter_tiles(model)
    assert tab.tile_count == tiles.shape[0] == 16
    y, x = tab.view.layout.origin(5)
    assert np.array_equal(tab.view.image[y, x], np.round(tiles[5, 0, 0] * 255).astype(np.uint8))
    weights = filter_channels(model)  # (out, in, kh, kw)
    assert f"R {weights[5, 0, 0, 0]:+.3f}" in tab.grid.text_at(x + 0.5, y + 0.5)
    assert tab.grid.text_at(-3, -3) == ""

    # Another convolution, one tile per (filter, input channel).
    index = next(i for i, c in enumerate(tab.layers) if c.in_channels > 3 and c.kernel == (1, 1))
    layer = tab.layers[index]
    with qtbot.waitSignal(page.kernels_shown, timeout=WORK_MS) as sig:
        tab.select_layer(index, "channels")
    assert tab.view.layer == layer.path
    assert sig.args[0] == min(layer.out_channels, 32) * min(layer.in_channels, 32)

    # Activations: the basic three plus those the model uses, value and slope curves.
    page.show_tab("activations")
    act = page.activations_tab
    assert {"relu", "sigmoid", "tanh", "hard_swish"} <= set(act.curves)
    assert len(act.value_plot.listDataItems()) == len(act.slope_plot.listDataItems()) \
        == len(act.curves) >= 4
    xs, ys = act.curves["sigmoid"][1].getData()
    assert np.allclose(ys, curve("sigmoid", xs)[1])
    assert "★" in next(act.list.item(i).text() for i in range(act.list.count())
                       if act.list.item(i).data(Qt.UserRole) == "hard_swish")


def test_feature_maps_grid_hover_and_next(qtbot, page):
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS):
        page.show_tab("maps")
    tab = page.maps_tab
    layers = page.network.probe.layers
    assert tab.layer_combo.count() == len(layers)

    wide = next(i for i, (_p, _t, shape) in enumerate(layers) if shape[-1] > 64)
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS) as sig:
        tab.select_layer(wide)
    assert sig.args == [layers[wide][0], 64]  # at most 64 tiles
    narrow = next(i for i, (_p, _t, shape) in enumerate(layers) if 8 <= shape[-1] <= 64
                  and shape[1] > 1)
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS) as sig:
        tab.select_layer(narrow)
    assert sig.args == [layers[narrow][0], layers[narrow][2][-1]]
    assert tab.tile_count == layers[narrow][2][-1]

    # The maps are the layer's real output for that image.
    view = tab.view
    image = load_rgb(tab.images.path(), int(page.network.model.inputs[0].shape[1]))
    expected = feature_maps(page.network.model, image, layers[narrow][0])
    assert np.allclose(view.maps, expected, atol=1e-5)
    y, x = view.layout.origin(1)
    assert tab.grid.text_at(x, y) == view.describe(1, 0, 0)
    assert f"{float(expected[0, 0, 1]):.4g}" in tab.grid.text_at(x, y)
    # The same words appear when the mouse really moves there.
    scene_pos = tab.grid.item.mapToScene(QPointF(x + 0.5, y + 0.5))
    with qtbot.waitSignal(tab.grid.hovered, timeout=5000) as hover:
        tab.grid.view.scene().sigMouseMoved.emit(scene_pos)
    assert hover.args[0] == tab.grid.value_label.text() == view.describe(1, 0, 0)

    # Next steps to the next layer; Previous back.
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS) as sig:
        tab.next_button.click()
    assert sig.args[0] == layers[narrow + 1][0]
    assert tab.current_index() == narrow + 1
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS) as sig:
        tab.prev_button.click()
    assert sig.args[0] == layers[narrow][0]


def test_playground_sizes_and_typed_kernels(qtbot, page):
    with qtbot.waitSignal(page.playground_shown, timeout=WORK_MS):
        page.show_tab("playground")
    tab = page.playground_tab
    h, w = tab.outcome.input_shape[:2]

    tab.padding_combo.setCurrentIndex(tab.padding_combo.findData("valid"))
    tab.stride_spin.setValue(2)
    with qtbot.waitSignal(page.playground_shown, timeout=WORK_MS) as sig:
        tab.set_kernel_choice("edge")
    ho, wo = conv_output_size(h, 3, 2, "valid"), conv_output_size(w, 3, 2, "valid")
    assert sig.args[0] == tab.size_label.text() == f"Input {h}×{w} → output {ho}×{wo}"
    assert tab.outcome.output.shape == (ho, wo, 3)
    assert f"= {ho}" in tab.formula_label.text()

    # A broken kernel: the complaint appears under the box, nothing else changes.
    before = tab.outcome
    tab.set_kernel_text("1, 2; 3")
    assert tab.error_label.isVisible() and "row 2" in tab.error_label.text()
    assert not page.play_work.busy() and tab.outcome is before
    tab.set_kernel_text("1, 0, banana")
    assert "banana" in tab.error_label.text()

    # A typed 1×3 kernel: only the width loses pixels.
    with qtbot.waitSignal(page.playground_shown, timeout=WORK_MS):
        tab.set_kernel_text("1, 0, -1")
    assert tab.error_label.isHidden()
    assert tab.outcome.output_shape[:2] == (conv_output_size(h, 1, 2, "valid"),
                                            conv_output_size(w, 3, 2, "valid"))

    # A filter the model learned: all three colours into one map.
    tab.stride_spin.setValue(1)
    with qtbot.waitSignal(page.playground_shown, timeout=WORK_MS):
        tab.set_kernel_choice("learned")
    assert not tab.grey_check.isEnabled()
    assert tab.outcome.output_shape == (h - 2, w - 2)


def test_untrained_model_from_the_model_page_then_a_trained_one(qtbot, window, trained_run,
                                                                  tmp_path):
    window.state.set("model.backbone", "MobileNetV3Small")
    window.state.set("model.image_size", 32)
    index = network_index(window)
    page = window.pages[index]
    with qtbot.waitSignal(page.model_ready, timeout=LOAD_MS) as sig:
        window.show_page(index)
    assert "untrained" in page.source_label.text()
    assert "MobileNetV3Small" in page.source_label.text()
    assert sig.args[0] == len(inspect_layers(page.network.model).rows)
    qtbot.waitUntil(page.is_ready, timeout=WORK_MS)
    assert page.kernels_tab.tile_count == 16
    # the note stays under the filters' caption ("Reading the filters…" had replaced it)
    assert page.kernels_tab.caption.text().endswith(
        "Random weights: train a model to see learned filters.")
    untrained = page.network

    with qtbot.waitSignal(page.model_ready, timeout=LOAD_MS):
        window.state.set_model(str(trained_run))
    assert page.network is not untrained and page.source.kind == "file"
    assert "untrained" not in page.source_label.text()
    trained = page.network

    # An exported model cannot be looked into: the run's Keras model stays, with a note why.
    export = tmp_path / "model.tflite"
    export.write_bytes(b"TFL3" + bytes(64))
    window.state.set_run(str(trained_run))
    window.state.set_model(str(export))
    qtbot.waitUntil(lambda: "model.tflite is an exported model" in page.source_label.text(),
                    timeout=5000)
    assert page.network is trained


def test_a_model_that_fails_to_load_does_not_leave_the_one_before_usable(qtbot, window, page,
                                                                          tmp_path):
    """The previous model's layers and filters stayed, tabs enabled, under the error."""
    import shutil

    bad = tmp_path / "run"
    shutil.copytree(window.state.run_dir, bad)
    (bad / "model.keras").write_bytes(b"not a model")
    window.state.set_run(str(bad))
    qtbot.waitUntil(page.banner.isVisible, timeout=WORK_MS)
    assert "model.keras" in page.banner.text()
    assert page.network is None and not page.tabs.isEnabled()


def test_going_back_to_the_model_shown_while_another_loads_keeps_it(qtbot, window, page,
                                                                     trained_run, tmp_path,
                                                                     monkeypatch):
    """A then B then A again before B had loaded: "Loading…" stayed, and B replaced A."""
    import shutil
    import threading

    import gui.pages.network.page as network_page

    other = tmp_path / "run_b"
    shutil.copytree(trained_run, other)
    gate, real = threading.Event(), network_page.load_job
    monkeypatch.setattr(network_page, "load_job",
                        lambda *a, **kw: (gate.wait(60), real(*a, **kw))[1])
    shown = page.source.key
    window.state.set_run(str(other))
    window.state.set_model(str(other / "model.keras"))
    qtbot.waitUntil(lambda: "Loading" in page.source_label.text(), timeout=5000)
    window.state.set_run(str(trained_run))
    window.state.set_model(str(trained_run / "model.keras"))
    qtbot.waitUntil(lambda: "Loading" not in page.source_label.text(), timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: not page.work.busy(), timeout=LOAD_MS)
    assert page.source.key == shown and "run_b" not in page.source_label.text()


def test_a_failed_request_takes_down_what_no_longer_applies(qtbot, page, tmp_path):
    """Feature maps: "Running the image through the model…" stayed with the previous layer's
    maps; the playground kept the output, sizes and formula of other settings."""
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS):
        page.show_tab("maps")
    page.maps_tab.images.add_path(str(broken))
    qtbot.waitUntil(page.banner.isVisible, timeout=WORK_MS)
    assert page.maps_tab.tile_count == 0 and page.maps_tab.view is None
    assert "No feature maps" in page.maps_tab.caption.text()

    with qtbot.waitSignal(page.playground_shown, timeout=WORK_MS):
        page.show_tab("playground")
    tab = page.playground_tab
    from PIL import Image

    strip = tmp_path / "strip.png"
    Image.fromarray(np.full((4, 40, 3), 128, np.uint8)).save(strip)
    with qtbot.waitSignal(page.playground_shown, timeout=WORK_MS):
        tab.images.add_path(str(strip))
    assert tab.outcome.input_shape[:2] == (4, 40)
    tab.padding_combo.setCurrentIndex(tab.padding_combo.findData("valid"))
    tab.set_kernel_text("; ".join(["1, 1, 1, 1, 1"] * 5))  # taller than the image: no output
    qtbot.waitUntil(tab.error_label.isVisible, timeout=WORK_MS)
    qtbot.waitUntil(lambda: tab.outcome is None, timeout=WORK_MS)
    assert tab.size_label.text() == "" and tab.formula_label.text() == ""


def test_the_playground_keeps_a_long_strip_tall_enough_for_a_kernel(tmp_path):
    """A 4000×20 image shrunk to 160 px on its longer side was 1 px tall: a 3×3 'valid'
    kernel "does not fit in a 1×160 image" though the image is 20 px tall (a bug hunt)."""
    import numpy as np
    from PIL import Image

    from gui.pages.network.playground_work import playground_run

    path = tmp_path / "strip.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 4000, 3), np.uint8)).save(
        path)
    kernel = np.ones((3, 3)) / 9
    out = playground_run(str(path), True, kernel, "valid", 1)
    assert out.input_shape[0] >= 10 and out.output_shape[0] >= 8
    # longer than the playground's longest side: its middle, at full height (was 2048×1)
    long = tmp_path / "long.png"
    strip = np.zeros((12, 20000, 3), np.uint8)
    strip[:, 10000:] = 255
    Image.fromarray(strip).save(long)
    out = playground_run(str(long), True, kernel, "valid", 1)
    assert out.input_shape[:2] == (12, 2048) and out.output_shape[:2] == (10, 2046)
    assert "(the middle of 12×20000)" in out.size_text()
    assert out.image[0, 1023].max() == 0 and out.image[0, 1024].min() == 255
    square = tmp_path / "square.png"
    Image.fromarray(np.zeros((500, 500, 3), np.uint8)).save(square)
    assert playground_run(str(square), True, kernel, "valid", 1).input_shape[:2] == (160, 160)


def test_trainable_counts_follow_the_layers_that_fine_tune_before_training(qtbot, window):
    """Before any run, "Layers that fine-tune" changed nothing on the page: the freeze
    settings were not in the model's cache key, so the counts stayed those of the first
    setting (a review)."""
    import copy

    from core.insight.architecture import build_untrained, freeze_preview

    window.state.set("model.backbone", "MobileNetV3Small")
    window.state.set("model.image_size", 32)
    index = network_index(window)
    page = window.pages[index]
    with qtbot.waitSignal(page.model_ready, timeout=LOAD_MS):
        window.show_page(index)
    qtbot.waitUntil(page.is_ready, timeout=WORK_MS)
    shown = page.network
    for mode, top_n in (("top_n", 100), ("none", 30), ("all", 30)):
        with qtbot.waitSignal(page.trainable_shown, timeout=WORK_MS):
            window.state.set("model.freeze.mode", mode)
            window.state.set("model.freeze.top_n", top_n)
        qtbot.waitUntil(page.is_ready, timeout=WORK_MS)
        cfg = copy.deepcopy(window.state.config.model)
        truth = freeze_preview(build_untrained(cfg, 2), cfg).trainable
        assert page.network is shown  # counted again, not rebuilt
        assert f"<b>{truth:,}</b> trainable" in page.layers_tab.totals_label.text(), mode
        assert page.network.inspection.trainable_params == truth
        words = page.layers_tab.totals_label.toolTip()
        assert ("head phase" in words) == (mode == "none")


def test_a_run_from_scratch_that_ended_in_the_head_phase_is_not_said_frozen(qtbot, window,
                                                                            tmp_path):
    """Weights "none", no fine-tuning: the totals' tooltip said "the backbone is frozen"
    above 2.2 M trainable backbone weights; from scratch the head phase trains every layer
    (a review)."""
    from core.train.engine import train
    from weights_fixture import make_bright_dark, tiny_config

    data = make_bright_dark(tmp_path / "data")
    result = train(tiny_config(data, "none", epochs=1, fine_tune_epochs=0), tmp_path / "run")
    assert result.status == "completed"
    window.state.set_run(str(result.run_dir))
    index = network_index(window)
    page = window.pages[index]
    with qtbot.waitSignal(page.model_ready, timeout=LOAD_MS):
        window.show_page(index)
    assert page.network.phase == "head"
    words = page.layers_tab.totals_label.toolTip()
    assert "frozen" not in words and "every layer trains in both phases" in words
    inspection = page.network.inspection
    assert inspection.trainable_params > inspection.total_params // 2


def test_at_1600_by_1000_the_receptive_field_and_the_show_choice_are_in_view(qtbot, window,
                                                                             page):
    """The Layers table showed 8 of its 10 columns at 1600×1000, the receptive field out of
    view; the Kernels tab's "Show:" read "Each input channel sep" (a review)."""
    from PySide6.QtWidgets import QApplication

    from gui.pages.network.layers_tab import COLUMNS

    window.resize(1600, 1000)
    QApplication.processEvents()
    table = page.layers_tab.table
    col = COLUMNS.index("Receptive field")
    right = table.columnViewportPosition(col) + table.columnWidth(col)
    assert 0 <= table.columnViewportPosition(col) and right <= table.viewport().width()
    assert table.item(0, col).text().endswith("px")
    page.show_tab("kernels")
    QApplication.processEvents()
    combo = page.kernels_tab.mode_combo
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert combo.width() >= max(map(combo.fontMetrics().horizontalAdvance, texts))


def test_the_slope_plot_holds_every_slope_it_draws(qtbot):
    """The slope plot was fixed at −0.1…1.3: hard swish's slope (−0.5 at x = −3, 1.5 at
    x = 3; MobileNetV3's own activation) left it at both ends (a review)."""
    from core.insight.activations import ACTIVATIONS
    from gui.pages.network.activations_tab import ActivationsTab

    tab = ActivationsTab()
    qtbot.addWidget(tab)
    for i in range(tab.list.count()):
        tab.list.item(i).setCheckState(Qt.Checked)
    assert set(tab.curves) == set(ACTIVATIONS)
    (_x0, _x1), (lo, hi) = tab.slope_plot.viewRange()
    for name, (_value, slope) in tab.curves.items():
        _xs, ys = slope.getData()
        assert lo < ys.min() and ys.max() < hi, name
    assert lo < -0.45 and hi > 1.45  # hard swish's ends


def test_a_good_image_takes_down_the_error_of_a_bad_one(qtbot, page, tmp_path):
    """After an image that could not be read, a good one's maps came under the old image's
    "not an image this app can read" banner, on every tab (a review).  The error goes when
    the maps come; another tab's view leaves it (the maps tab still points to it)."""
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS):
        page.show_tab("maps")
    tab = page.maps_tab
    good = tab.images.path()
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    tab.images.add_path(str(bad))
    qtbot.waitUntil(lambda: page.banner.isVisible() and "bad.png" in page.banner.text(),
                    timeout=WORK_MS)
    page.show_tab("kernels")
    with qtbot.waitSignal(page.kernels_shown, timeout=WORK_MS):
        page.kernels_tab.select_layer(1, "channels")
    assert page.banner.isVisible() and "bad.png" in page.banner.text()
    page.show_tab("maps")
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS):
        tab.images.add_path(good)
    assert page.banner.isHidden(), page.banner.text()


def test_an_image_of_the_users_own_stays_when_the_model_changes(qtbot, window, page, tmp_path):
    """The file chosen with "Choose a file…" went when the run or the backbone changed: the
    new model's samples replaced it, and with no data set there was no image left (a review)."""
    from PIL import Image

    own = tmp_path / "mine.png"
    Image.fromarray(np.full((20, 20, 3), 200, np.uint8)).save(own)
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS):
        page.show_tab("maps")
    tab = page.maps_tab
    with qtbot.waitSignal(page.maps_shown, timeout=WORK_MS):
        tab.images.add_path(str(own))
    trained = page.network

    window.state.set("model.backbone", "MobileNetV3Small")
    window.state.set("model.image_size", 32)
    with qtbot.waitSignal(page.model_ready, timeout=LOAD_MS):
        window.state.set_run(None)  # the Model page's untrained model, no data set open
    qtbot.waitUntil(page.is_ready, timeout=WORK_MS)
    assert page.network is not trained and page.source.kind == "config"
    assert tab.images.path() == str(own)
    assert tab.view is not None and tab.view.image_path == str(own)
    assert "Open an image folder" not in tab.caption.text()


def test_kernels_show_goes_back_to_colour_for_the_first_convolution(qtbot):
    """(a review) "Show" stayed on "Each input channel separately" after going back from a
    depthwise or 1×1 layer to the first convolution, which can be drawn in colour: a layer
    change gives the layer's own choice, unless the user chose one for that layer."""
    from types import SimpleNamespace

    from gui.pages.network.kernels_tab import KernelsTab

    tab = KernelsTab()
    qtbot.addWidget(tab)
    asked = []
    tab.requested.connect(lambda layer, mode: asked.append((layer, mode)))
    tab.set_layers([SimpleNamespace(label=f"{p} layer", path=p, colour_ok=p == "conv")
                    for p in ("conv", "depthwise", "pointwise")])

    def user_picks(combo, index):
        combo.setCurrentIndex(index)
        combo.activated.emit(index)

    for layer in (1, 2):
        user_picks(tab.layer_combo, layer)
        user_picks(tab.layer_combo, 0)
    assert asked == [("conv", "rgb"), ("depthwise", "channels"), ("conv", "rgb"),
                     ("pointwise", "channels"), ("conv", "rgb")]
    assert tab.mode_combo.currentData() == "rgb"
    user_picks(tab.mode_combo, tab.mode_combo.findData("channels"))  # chosen for "conv"
    user_picks(tab.layer_combo, 2)
    user_picks(tab.layer_combo, 0)
    assert asked[-3:] == [("conv", "channels"), ("pointwise", "channels"),
                          ("conv", "channels")]


def test_the_activation_list_is_the_legend_and_no_legend_covers_a_curve(qtbot):
    """(a review) At 900×600 the plots' legends covered the curves: the list names each
    drawn curve in its colour instead, and the plots hold no legend."""
    from gui.pages.network.activations_tab import ActivationsTab

    tab = ActivationsTab()
    qtbot.addWidget(tab)
    tab.resize(700, 380)
    tab.set_used(["hard_swish"])
    for plot in (tab.value_plot, tab.slope_plot):
        assert plot.getPlotItem().legend is None
    for i in range(tab.list.count()):
        item = tab.list.item(i)
        name = item.data(Qt.UserRole)
        if name in tab.curves:
            pen = tab.curves[name][0].opts["pen"].color()
            assert item.foreground().color() == pen == tab.curves[name][1].opts["pen"].color()
        else:
            assert item.foreground().style() == Qt.NoBrush, name
    tab.list.item(0).setCheckState(Qt.Unchecked)  # ReLU: no longer drawn, no longer coloured
    assert "relu" not in tab.curves and tab.list.item(0).foreground().style() == Qt.NoBrush


def test_the_image_combo_shows_the_file_name_of_an_image_in_a_long_class_folder(qtbot, tmp_path):
    """A UI review: "Background, debris, out-of-focus regions (ignore these)/IMG_0001.png"
    was cut at the combo's right end before the file name: every image of the class read
    alike."""
    from PySide6.QtCore import Qt

    from gui.pages.network.maps_tab import ImagePicker

    folder = tmp_path / "Background, debris, out-of-focus regions (ignore these)"
    paths = [str(folder / f"IMG_000{i}.png") for i in range(3)]
    picker = ImagePicker()
    qtbot.addWidget(picker)
    picker.resize(500, 40)
    picker.show()
    picker.set_paths(paths)
    combo = picker.combo
    combo.setCurrentIndex(1)
    text = combo.currentText()
    end = text.index("IMG_0001.png") + len("IMG_0001.png")
    assert combo.fontMetrics().horizontalAdvance(text[:end]) <= combo.width() - 30
    assert combo.itemData(1, Qt.ToolTipRole).endswith("IMG_0001.png")  # the whole path
    assert len({combo.itemText(i) for i in range(3)}) == 3
