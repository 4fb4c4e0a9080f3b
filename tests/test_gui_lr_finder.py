"""Train page: "Find learning rate" runs the range test off the UI thread, plots it, "Use it"."""

import pytest

from test_gui_train import ready_page


def test_find_learning_rate_plots_the_curve_and_use_it_sets_the_rate(qtbot, window, tmp_path,
                                                                        tiny_weights):
    page = ready_page(qtbot, window, tmp_path, tiny_weights)
    job = page.find_learning_rate()
    assert job is not None and not page.find_lr_button.isEnabled()
    assert not page.start_button.isEnabled()  # one long job at a time
    with qtbot.waitSignal(job.done, timeout=120000):
        pass
    assert job.state == "finished", job.error
    dialog = page.lr_dialog
    assert dialog is not None and dialog.isVisible()
    result = job.result
    xs, ys = dialog.curve.getData()
    assert len(xs) == len(result.rates) >= 20
    assert dialog.plot.getPlotItem().ctrl.logXCheck.isChecked()  # log x axis
    assert dialog.marker.value() == pytest.approx(__import__("math").log10(result.proposal))
    assert f"{result.proposal:.2g}" in dialog.use_button.text()
    dialog.use_button.click()
    assert window.state.config.train.learning_rate == pytest.approx(float(f"{result.proposal:.2g}"))
    assert page.lr_spin.value() == pytest.approx(window.state.config.train.learning_rate)
    assert page.find_lr_button.isEnabled() and page.start_button.isEnabled()
    assert "Proposed" in page.progress.format()
    for w, h in ((900, 600), (1600, 1000)):
        window.resize(w, h)
    dialog.close()


def test_time_budget_setting_and_the_plan_on_the_page(qtbot, window):
    from core.events import BudgetPlanned

    page = window.pages[3]
    assert page.budget_spin.text() == "off"
    page.budget_spin.setValue(120)
    assert window.state.config.train.time_budget == 120
    assert "Time budget 2:00" in page.steps_hint.text()
    assert not page.plan_label.isVisible()
    window.show_page(3)
    page.panel.show_event(BudgetPlanned(120, 3, 5, "time budget 120 s: plan: 3 cached views"))
    assert page.plan_label.isVisible() and "3 cached views" in page.plan_label.text()
    page.panel.new_run()
    assert not page.plan_label.isVisible()


def test_a_flat_curve_offers_no_rate_to_use(qtbot):
    """A curve flat to within noise proposed its noise's lowest point, and "Use 2.2e-06"
    set a rate that trained nothing (a review)."""
    import numpy as np

    from core.train.lr_finder import RangeTest
    from gui.pages.train.lr_finder_view import LearningRateFinderDialog

    rates = list(np.geomspace(1e-7, 1e-2, 30))
    dialog = LearningRateFinderDialog(RangeTest(rates, [1.0986] * 30, 2.2e-6, 1.8e-5, 2.2e-5,
                                                flat=True))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.marker is None and not dialog.use_button.isVisible()
    assert "No rate to propose" in dialog.summary.text()
