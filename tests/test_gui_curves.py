"""The live training curves as drawn: what a user sees in a small window."""


def test_the_fine_tuning_marker_is_named_inside_a_short_plot(qtbot):
    """The marker's name hung from the top of the plot and ran off it: at the window's
    smallest size only a sliver of "fine-tuning" showed (a HiDPI review, seen at 1.5×)."""
    from PySide6.QtWidgets import QApplication

    from gui.widgets.curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.start_phase("head")
    for epoch in (1, 2):
        curves.add_epoch("head", epoch, {"loss": 1.0 / epoch, "accuracy": 0.5,
                                         "val_loss": 1.1 / epoch, "val_accuracy": 0.5})
    curves.start_phase("fine_tune")
    curves.add_epoch("fine_tune", 1, {"loss": 0.4, "accuracy": 0.8, "val_loss": 0.5,
                                      "val_accuracy": 0.8})
    curves.resize(500, curves.minimumSizeHint().height())
    curves.show()
    qtbot.waitExposed(curves)
    curves._redraw()
    QApplication.processEvents()
    assert curves._markers
    for line in curves._markers:
        box = line.getViewBox().sceneBoundingRect()
        label = line.label.sceneBoundingRect()
        assert box.height() > label.height()  # a short plot, but the name fits
        assert box.contains(label), (box, label)
