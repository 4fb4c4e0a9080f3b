"""Pictures on a high-DPI screen ("200 %"): drawn at their size on screen, with every
device pixel.  Offscreen Qt runs at ratio 1, so the ratio is given by hand."""

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage, QPixmap

from gui import thumbnails


def _given(label) -> list:
    """What a label is given: its own ``pixmap()`` is drawn again at the real ratio (1)."""
    given, real = [], label.setPixmap
    label.setPixmap = lambda pix: (given.append(pix), real(pix))
    return given


def _shown(pix: QPixmap) -> tuple[int, int]:
    """Logical pixels a pixmap covers on screen."""
    size = pix.deviceIndependentSize().toSize()
    return size.width(), size.height()


def test_a_pixmap_fitted_for_a_200_percent_screen_covers_the_same_logical_size(qtbot):
    sharp = QPixmap.fromImage(QImage(800, 600, QImage.Format_RGB888))
    sharp.setDevicePixelRatio(2.0)  # a thumbnail made for a 200 % screen
    fitted = thumbnails.fitted_pixmap(sharp, 400, 400, 2.0)
    assert (fitted.width(), fitted.height(), fitted.devicePixelRatio()) == (800, 600, 2.0)
    assert _shown(fitted) == (400, 300)
    small = thumbnails.fitted_pixmap(QImage(32, 16, QImage.Format_RGB888), 100, 100, 1.0)
    assert (small.width(), small.height(), _shown(small)) == (100, 50, (100, 50))


def test_the_sort_image_is_as_large_at_200_percent_as_at_100(qtbot, tmp_path, monkeypatch):
    """At 200 % the Sort page's big picture (decoded at 800 px, ratio 2) was scaled to
    400 device pixels and kept ratio 2: it showed at half its size."""
    from core.label.suggestions import Suggestion
    from gui.pages.sort.viewer import VIEW_SIDE, ImageView

    monkeypatch.setattr(thumbnails, "screen_ratio", lambda: 2.0)
    path = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (900, 900, 3), np.uint8)).save(path)
    view = ImageView()
    qtbot.addWidget(view)
    view.picture.devicePixelRatioF = lambda: 2.0  # the label sits on the 200 % screen
    given = _given(view.picture)
    view.resize(700, 800)
    view.show()
    view.set_classes(["a", "b"])
    view.show_item(Suggestion(str(path), "a", 0.9, 0.1, top=[("a", 0.9), ("b", 0.1)]), "",
                   added=False)
    qtbot.waitUntil(lambda: bool(given), timeout=30000)
    side = max(40, min(view.picture.width(), view.picture.height(), VIEW_SIDE))
    pix = given[-1]
    assert pix.devicePixelRatio() == 2.0 and _shown(pix) == (side, side)
    assert pix.width() == 2 * side  # every device pixel
    view.big.shutdown()


def test_the_feature_map_input_uses_every_device_pixel(qtbot):
    """The Network page's input picture was made at 148 logical pixels and stretched."""
    from types import SimpleNamespace

    from gui.pages.network.maps_tab import INPUT_SIDE, FeatureMapsTab

    tab = FeatureMapsTab()
    qtbot.addWidget(tab)
    tab.input_label.devicePixelRatioF = lambda: 2.0
    given = _given(tab.input_label)
    tab.grid.set_mosaic = lambda *args: None  # the maps themselves are another test's
    view = SimpleNamespace(image=np.zeros((32, 64, 3), np.uint8), image_path="x.png",
                           picture=None, layout=None, describe=None, caption=lambda: "maps")
    tab.show_view(view)
    pix = given[-1]
    assert pix.devicePixelRatio() == 2.0
    assert _shown(pix) == (INPUT_SIDE - 2, (INPUT_SIDE - 2) // 2)
    assert pix.width() == 2 * (INPUT_SIDE - 2)
