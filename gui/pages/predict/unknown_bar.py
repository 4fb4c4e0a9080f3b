"""The Predict page's "unknown" row: the switch, the threshold slider and what it does now.

A calibrated run scores every image for how unlike the training images it is
(:mod:`core.trust`); above a threshold the answer is "unknown".  The slider
does not show that abstract score: it moves over the share of the run's
validation images (all of known classes) that keep their class, from 50% to
100%, and the threshold follows from the validation scores' percentiles
(:func:`core.trust.unknown.threshold_for_share`).  While it moves, the page
re-labels the images shown (no prediction is repeated: each image's score is
kept) and the row counts how many are "unknown"; when it is let go, the page
saves the threshold (:attr:`UnknownBar.committed`).

A model without a score (uncalibrated, a .keras file, int8) gets a note
saying so; an exported model's threshold is fixed in its metadata.json, so
only the switch moves it.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from gui.pages.predict.compact import NoteLabel

SWITCH_TEXT = "Say “unknown”"
SWITCH_TIP = ("Answer “unknown” for an image unlike the training images (a photo of something "
              "else), instead of the class it resembles most. Saved with a run, as the slider "
              "is: switched off, predict, serve and the run's exports never answer “unknown” "
              "either, until it is switched on again.")
SLIDER_TIP = ("Known images kept: the share of the run's validation images (all of classes "
              "it knows) that keep their class. Lower catches more images of other things, but "
              "also turns away more of yours.")
ALIKE_NOTE = ("Every validation image got the same “unknown” score: this model does not tell "
              "images apart yet (it answers one class, as sure, for all), so how many known "
              "images to keep cannot be chosen. Train it longer, or from pretrained weights.")
#: Slider steps per 1.0 of share: 0.5% steps from 50% to 100%.
STEPS = 200
LOWEST = 0.5


class UnknownBar(QWidget):
    """Switch, slider over the share of known images kept, live count, note (see module)."""

    changed = Signal(object)  # the threshold (None: switched off), while it moves
    committed = Signal(object)  # the same, once the user lets go: to be saved

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._threshold: Optional[float] = None
        self._fitted: Optional[float] = None  # the threshold the model came with
        self._last: Optional[float] = None  # the threshold before "unknown" was switched off
        self._quantiles: tuple = ()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        row = QHBoxLayout()
        self.check = QCheckBox(SWITCH_TEXT)
        self.check.setToolTip(SWITCH_TIP)
        self.check.toggled.connect(self._on_switched)
        row.addWidget(self.check)
        row.addSpacing(12)
        self.kept_label = QLabel("Known images kept:")
        self.kept_label.setToolTip(SLIDER_TIP)
        row.addWidget(self.kept_label)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setAccessibleName("Known images kept")
        self.slider.setRange(int(LOWEST * STEPS), STEPS)
        self.slider.setToolTip(SLIDER_TIP)
        self.slider.setMinimumWidth(120)
        self.slider.setMaximumWidth(360)
        self.slider.valueChanged.connect(self._on_slid)
        self.slider.sliderReleased.connect(self._commit)
        row.addWidget(self.slider, 1)
        self.share_label = QLabel()
        self.share_label.setMinimumWidth(48)
        row.addWidget(self.share_label)
        row.addStretch(0)
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")
        row.addWidget(self.count_label)
        box.addLayout(row)
        self.note = NoteLabel()  # one line once there are results (compact.py)
        self.note.hide()
        box.addWidget(self.note)
        self.set_model(False, None)

    # ------------------------------------------------------------------ the model
    def set_model(self, has_score: bool, threshold: Optional[float], quantiles=(),
                  fitted: Optional[float] = None, note: str = "") -> None:
        """Show a model's threshold (``has_score`` False: it has no unknown score).

        ``quantiles``: the validation scores' percentiles (empty: the slider cannot
        move); ``fitted``: the threshold to use when switched back on after off.
        """
        self._quantiles = tuple(quantiles)
        self._fitted = fitted if fitted is not None else threshold
        self._threshold, self._last = threshold, None
        movable = has_score and self._movable()
        self.check.setEnabled(has_score)
        for w in (self.kept_label, self.slider, self.share_label):
            w.setVisible(movable)  # with no share to show it sat at a meaningless place
            w.setEnabled(movable and threshold is not None)
        self._set_quietly(self.check, threshold is not None and has_score)
        if threshold is not None and movable:
            self._set_quietly(self.slider, self._position(threshold))
        self._show_share()
        if has_score and not note and len(self._quantiles) > 1 and not movable:
            note = ALIKE_NOTE
        text = note if has_score else (
            note or "This model has no “unknown” score: every image gets the class it resembles "
                    "most. A run calibrated after training has one (and its exports but .keras "
                    "and int8).")
        self.note.setText(text)
        self.note.setVisible(bool(text))
        self.count_label.setText("")

    def threshold(self) -> Optional[float]:
        return self._threshold

    def share(self) -> Optional[float]:
        """The share of validation images the threshold keeps (None: off or not known)."""
        if self._threshold is None or not self._movable():
            return None
        from core.trust.unknown import kept_share

        return kept_share(self._threshold, self._quantiles)

    def set_count(self, unknown: int, scored: int) -> None:
        """How many of the images shown are "unknown" now."""
        self.count_label.setText(f"{unknown} of {scored} shown are “unknown”" if scored else "")

    # ------------------------------------------------------------------ internals
    def _movable(self) -> bool:
        """Whether the slider has validation scores to move along: some, and not all alike."""
        from core.trust.unknown import scores_alike

        return len(self._quantiles) > 1 and not scores_alike(self._quantiles)

    def _position(self, threshold: float) -> int:
        from core.trust.unknown import kept_share

        share = kept_share(threshold, self._quantiles)
        return int(round(min(max(share, LOWEST), 1.0) * STEPS))

    def _show_share(self) -> None:
        share = self.share()
        self.share_label.setText("" if share is None else f"{share:.1%}")

    def _on_slid(self, value: int) -> None:
        from core.trust.unknown import threshold_for_share

        if len(self._quantiles) < 2:
            return  # no percentiles to move along (the slider is disabled then)
        self._threshold = threshold_for_share(value / STEPS, self._quantiles)
        self._show_share()
        self.changed.emit(self._threshold)
        if not self.slider.isSliderDown():  # keyboard or a click on the groove: done at once
            self._commit()

    def _on_switched(self, on: bool) -> None:
        if on:
            self._threshold = self._last if self._last is not None else self._fitted
        else:
            self._last, self._threshold = self._threshold, None
        movable = self._movable() and self._threshold is not None
        for w in (self.kept_label, self.slider, self.share_label):
            w.setEnabled(movable)
        if self._threshold is not None and movable:
            self._set_quietly(self.slider, self._position(self._threshold))
        self._show_share()
        self.changed.emit(self._threshold)
        self._commit()

    def _commit(self) -> None:
        self.committed.emit(self._threshold)

    @staticmethod
    def _set_quietly(widget, value) -> None:
        widget.blockSignals(True)
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        else:
            widget.setValue(int(value))
        widget.blockSignals(False)


def unfinished_note(path: Optional[str]) -> str:
    """Why a run's model has no "unknown" score: the run never completed (a stopped run is
    calibrated when it completes), it had too few validation images, or its calibration
    files are gone; "" for anything else.  The note had said
    only "A run calibrated after training has one", and the Train page "go on to Evaluate"
    (a review)."""
    from core.errors import UserError
    from core.runs.folder import find_run_folder
    from core.runs.records import RunStatus

    run = find_run_folder(path) if path else None
    try:
        status = run.run_info().status if run is not None else None
    except (UserError, OSError):  # the Runs page says what is wrong with its run.json
        return ""
    if status is RunStatus.COMPLETED:  # too few validation images, or the files deleted
        from core.trust.missing import completed_not_calibrated

        why = completed_not_calibrated(run)
        text = why.text() if why else ""
        return text[:1].upper() + text[1:] + "." if text else ""
    if status is None:
        return ""
    how = "was stopped before the end" if status is RunStatus.STOPPED else "did not finish"
    return (f"This run {how}, so it was not calibrated and cannot say “unknown”: every "
            "image gets the class it resembles most. To finish it, press Resume on the Train "
            "page (open the run on the Runs page first if it is not the current one).")


def project_note(mine: Optional[float], run: Optional[float], quantiles) -> str:
    """The note when the project's threshold for a run is not the one its calibration.json
    holds now (``calibrate`` or a resumed run refitted it since): the page used the project's
    silently, so its answers and CSV differed from ``predict``'s of the same run (a review)."""
    def said(threshold: Optional[float]) -> str:
        if threshold is None:
            return "“unknown” switched off"
        if len(quantiles) > 1:
            from core.trust.unknown import kept_share

            return f"{kept_share(threshold, quantiles):.1%} of known images kept"
        return f"“unknown” above {threshold:.3g}"

    return (f"This project keeps its own choice for this run ({said(mine)}); the run's "
            f"calibration.json now says {said(run)}, which predict, serve and exports use. "
            "Move the slider or the switch to save one choice for both.")


class UnknownControl:
    """The Predict page's side of the bar: apply a threshold to the model and the images
    shown, keep it in the project (``state``) and save it in the run (calibration.json)."""

    def __init__(self, page) -> None:
        self.page = page
        self._differs = False  # the project's threshold is not the run's calibration.json's
        self.bar = UnknownBar()
        self.bar.hide()  # until a model is loaded
        self.bar.changed.connect(self.apply)
        self.bar.committed.connect(self.save)

    def show_model(self, predictor, path: Optional[str]) -> None:
        """A model was loaded (or dropped: None); the project's threshold for it wins."""
        self.bar.setVisible(predictor is not None)
        if predictor is None:
            return
        has = bool(getattr(predictor, "has_unknown_score", False))
        own = predictor.unknown_threshold  # the model's own: its metadata or calibration.json
        thresholds = self.page.state.unknown_thresholds
        if has and path in thresholds:
            predictor.unknown_threshold = thresholds[path]
        trust = getattr(predictor, "trust", None)
        quantiles = tuple(getattr(trust, "score_quantiles", ()) or ())
        self._differs = (has and trust is not None and path in thresholds
                         and thresholds[path] != own)
        fitted = getattr(trust, "threshold", None) if trust is not None else own
        if fitted is None and len(quantiles) > 1:  # saved switched off: back on, keep as much
            from core.trust.unknown import threshold_for_share  # as it last kept

            fitted = threshold_for_share(getattr(trust, "keep", 0.95), quantiles)
        note = ""
        if getattr(predictor, "unknown_note", ""):  # a copy out of its export folder
            note = predictor.unknown_note + "."
        elif has and trust is None and own is None:  # "it keeps 95%", switchable, had no effect
            note = ("This export was made with “Say unknown” switched off on its run, so it "
                    "never answers “unknown”: switch it on for the run and export again.")
        elif has and trust is None:
            keep = getattr(predictor, "unknown_keep", None)
            kept = f" (it keeps {keep:.1%} of the validation images)" if keep else ""
            note = (f"An exported model's threshold is fixed in its metadata.json{kept}; here "
                    "it can only be switched off. Move it on the run folder and export again.")
        elif has and not quantiles:
            note = ("This run was calibrated before the threshold could be moved here: run "
                    "“python main.py calibrate RUN_FOLDER” once.")
        elif not has:
            note = unfinished_note(path)
        if self._differs:
            note = project_note(predictor.unknown_threshold, own, quantiles)
        self.bar.set_model(has, predictor.unknown_threshold, quantiles, fitted, note)
        if has and trust is None and own is None and not getattr(predictor, "unknown_note", ""):
            self.bar.check.setEnabled(False)  # no threshold to switch on
        self.refresh()

    def refresh(self) -> None:
        """Mark the images shown by the current threshold and count them."""
        predictor = self.page.predictor
        threshold = getattr(predictor, "unknown_threshold", None) if predictor else None
        unknown, scored = self.page.cards.relabel(threshold)
        self.bar.set_count(unknown, scored)

    def apply(self, threshold: Optional[float]) -> None:
        """The live view: the model and every card and row follow the moving threshold."""
        if self.page.predictor is not None:
            self.page.predictor.unknown_threshold = threshold
        self.refresh()
        self.page.stack.update_labels()

    def save(self, threshold: Optional[float]) -> None:
        """Keep the threshold in the project and, for a run's model, in its calibration.json."""
        from core.errors import UserError
        from core.runs.folder import find_run_folder
        from core.trust.store import set_threshold

        path, predictor = self.page.model_path_loaded(), self.page.predictor
        if not path or predictor is None:
            return
        self.page.state.set_unknown_threshold(path, threshold)
        run = find_run_folder(path) if getattr(predictor, "trust", None) is not None else None
        if run is None or not run.calibration_path.exists():
            return
        try:
            set_threshold(run, threshold, self.bar.share())
        except (UserError, OSError) as exc:
            self.page.show_error(f"The threshold could not be saved in the run: {exc}")
            return
        if self._differs:  # the run and the project agree again
            self._differs = False
            self.bar.note.setText("")
            self.bar.note.hide()
