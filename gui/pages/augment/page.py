"""Step 3: augmentation.  Pick a preset, adjust any transform, and see at once
what training images will look like.

Controls are generated from ``core.data.augment_specs.TRANSFORMS``.  Every edit goes to
``config.augment`` (the preset becomes "custom" and the edited transform is
changed in place, so the list stays what the user made).  Previews are
recomputed in a worker ~150 ms after the last change; a newer request cancels
the older one and late results of an old request are dropped.

``core.data.augment`` pulls in albumentations and OpenCV (~1 s), so the controls are
built the first time the page is shown, not when the window starts.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QFrame, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from core.config import AugmentConfig
from gui.jobs import Job
from gui.pages.base import Page
from gui.plain_text import plain_tip
from gui.state import touches
from gui.steps import transform_fix
from gui.widgets.compact import ColumnScroll, FitImage, compact_combos
from gui.widgets.flow_layout import FlowLayout
from gui.widgets.turning_splitter import TurningSplitter
from gui.widgets.setting_widgets import SettingSpin, bind_spin, setting_info
from gui.pages.augment.jobs import preview_job, size_refused
from gui.pages.augment.files import AugmentFiles
from gui.pages.augment.groups import build_group
from gui.pages.augment.others import OtherTransforms
from gui.pages.augment.param_widgets import ParamEditor

PREVIEW_IMAGES = 3  # rows: one image from each of the first classes
PREVIEW_COUNT = 5  # augmented versions per image
PREVIEW_SIDE = 112  # shown size in pixels
DEBOUNCE_MS = 150

PRESET_LABELS = {
    "none": "None — train on the images as they are",
    "light": "Light — flips, small crops, brightness (recommended)",
    "medium": "Medium — adds zoom, rotation, colour and blur",
    "heavy": "Heavy — strong changes, for small or uniform datasets",
    "custom": "Custom — your own changes",
}


class AugmentPage(AugmentFiles, Page):
    key = "augment"
    title = "3 · Augmentation"
    intro = ("Training sees each image slightly changed every time — flipped, cropped, "
             "brighter — so the model learns the object, not the photo. The previews show "
             "exactly what training will see.")
    next_text = "Next: train"

    previews_updated = Signal(int)  # number of preview rows shown

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self._built = False
        self._stale = False
        self._writing = False
        self._editors: dict[str, dict[str, ParamEditor]] = {}
        self._groups: dict[str, QGroupBox] = {}
        self._p_spins: dict[str, QSpinBox] = {}
        self.preview_seed = 0
        self._preview_job: Optional[Job] = None
        self.preview_rows: list[tuple[str, Any, list[Any]]] = []
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._start_preview)

        top = QHBoxLayout()
        top.addWidget(QLabel("Start from:"))
        self.preset_combo = QComboBox()
        self.preset_combo.setMinimumContentsLength(24)
        self.preset_combo.activated.connect(self._on_preset_chosen)
        top.addWidget(self.preset_combo, 1)
        self.reseed_button = QPushButton("New random examples")
        self.reseed_button.setToolTip("Show other random versions of the same images (R)")
        self.reseed_button.setShortcut("R")
        self.reseed_button.clicked.connect(self.reseed)
        top.addWidget(self.reseed_button)
        self.body.addLayout(top)

        split = TurningSplitter(collapsible=True, roomy=True)  # stacked if both do not fit
        self.controls_area = ColumnScroll()  # as wide as the widest control row needs
        self.controls_host = QWidget()
        self.controls_layout = QVBoxLayout(self.controls_host)
        self.controls_layout.addWidget(QLabel("Loading the transforms…"))
        self.controls_area.setWidget(self.controls_host)
        split.addWidget(self.controls_area)

        preview_box = QWidget()
        pv = QVBoxLayout(preview_box)
        pv.setContentsMargins(8, 0, 0, 0)
        self.preview_title = QLabel("<b>Preview</b> — left: the image as the model gets it; "
                                    "right: random training versions")
        self.preview_title.setWordWrap(True)
        pv.addWidget(self.preview_title)
        self.preview_hint = QLabel("Open an image folder on the Data page to see previews.")
        self.preview_hint.setObjectName("hint")
        self.preview_hint.setWordWrap(True)
        pv.addWidget(self.preview_hint)
        self.preview_grid_host = QFrame()
        self.preview_grid = QGridLayout(self.preview_grid_host)
        self.preview_grid.setSpacing(6)
        pv.addWidget(self.preview_grid_host)
        pv.addStretch(1)
        split.addWidget(preview_box)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        self.body.addWidget(split, 1)

        seed_row = QFormLayout()
        self.seed_spin = SettingSpin()
        bind_spin(self.seed_spin, "augment.seed")
        self.seed_spin.valueChanged.connect(self._on_seed_changed)
        self.seed_spin.setMaximumWidth(160)
        seed_row.addRow(setting_info("augment.seed").label + ":", self.seed_spin)
        seed_box = QWidget()  # the buttons go on a line of their own when the page is narrow
        seed_box.setLayout(seed_row)
        seed_row.setContentsMargins(0, 0, 0, 0)
        seed_row.setHorizontalSpacing(10)  # the page's, as in the row before it could wrap
        bottom = FlowLayout()
        bottom.addWidget(seed_box)
        bottom.addStretch(1)
        self.open_button, self.save_button = self.file_buttons()
        bottom.addWidget(self.open_button)  # a file's augmentation, or this one for others
        bottom.addWidget(self.save_button)
        self.body.addLayout(bottom)

        self.state.config_changed.connect(self._on_config_changed)
        self.state.dataset_changed.connect(lambda _r: self.schedule_preview())

    # ------------------------------------------------------------------ building
    def on_shown(self) -> None:
        self.ensure_built()
        self.schedule_preview()

    def ensure_built(self) -> None:
        if self._built:
            return
        from core.data.augment import PRESETS
        from core.data.augment_specs import TRANSFORMS

        self._built = True
        for name in list(PRESETS) + ["custom"]:
            self.preset_combo.addItem(PRESET_LABELS.get(name, name), name)
        while self.controls_layout.count():
            item = self.controls_layout.takeAt(0)
            if item.widget():
                item.widget().hide()
                item.widget().deleteLater()
        for spec in TRANSFORMS.values():
            box, p_spin, editors = build_group(spec, self._edit)
            self.controls_layout.addWidget(box)
            self._groups[spec.name] = box
            self._p_spins[spec.name] = p_spin
            self._editors[spec.name] = editors
        self.others = OtherTransforms()
        self.others.toggled.connect(self._on_other_toggled)
        self.controls_layout.addWidget(self.others)
        self.controls_layout.addStretch(1)
        compact_combos(self.controls_host)
        self._sync_from_config()

    # ------------------------------------------------------------------ config → widgets
    def _resolved(self) -> AugmentConfig:
        from core.data.augment import resolve

        return resolve(self.state.config.augment)

    def _sync_from_config(self) -> None:
        from core.data.augment_files import library_default

        if not self._built:
            return
        aug = self.state.config.augment
        resolved = self._resolved()
        self.preset_combo.blockSignals(True)
        idx = self.preset_combo.findData(aug.preset)
        self.preset_combo.setCurrentIndex(idx if idx >= 0 else self.preset_combo.findData("custom"))
        self.preset_combo.blockSignals(False)
        self.seed_spin.blockSignals(True)
        self.seed_spin.setValue(int(aug.seed))
        self.seed_spin.blockSignals(False)
        by_name = {}
        for t in resolved.transforms:
            by_name.setdefault(t.name, t)
        for name, box in self._groups.items():
            t = by_name.get(name)
            box.blockSignals(True)
            box.setChecked(bool(t and t.enabled))
            box.blockSignals(False)
            spin = self._p_spins[name]
            spin.blockSignals(True)
            if t is not None:
                spin.setValue(round(t.p * 100))
            spin.blockSignals(False)
            for key, ed in self._editors[name].items():  # a left-out key: the library's value
                ed.set_value(ed.spec.default if t is None else t.params[key] if key in t.params
                             else library_default(name, key, ed.spec.default))
        self._show_others(resolved)

    def _show_others(self, resolved: AugmentConfig) -> None:
        """A transform with no controls, or a second copy of one that has them (training
        runs every copy; the controls show the first), each with its own check box."""
        first = {}
        for t in resolved.transforms:
            first.setdefault(t.name, t)
        self.others.show_transforms([(i, t, t.name in self._groups)
                                     for i, t in enumerate(resolved.transforms)
                                     if t.name not in self._groups or first[t.name] is not t])

    def _on_config_changed(self, path: str) -> None:
        if self._writing:
            return
        if touches(path, "augment"):
            self._sync_from_config()
            self.schedule_preview()
        elif touches(path, "model"):
            self.schedule_preview()  # the input size may have changed

    # ------------------------------------------------------------------ widgets → config
    def _on_preset_chosen(self, index: int) -> None:
        from core.data.augment import preset_config

        name = self.preset_combo.itemData(index)
        aug = self.state.config.augment
        if name == "custom":
            new = copy.deepcopy(self._resolved())
            new.preset = "custom"
        else:
            new = preset_config(name, seed=aug.seed)
        if name == aug.preset and new.transforms == self._resolved().transforms:
            return  # the preset in force chosen again: no change to save
        self.state.set("augment", new)

    def set_preset(self, name: str) -> None:
        """Choose a preset as a user would (used by tests and the CLI-minded)."""
        self.ensure_built()
        idx = self.preset_combo.findData(name)
        if idx < 0:
            raise ValueError(f"unknown preset {name!r}")
        self.preset_combo.setCurrentIndex(idx)
        self._on_preset_chosen(idx)

    def _edit(self, name: str, what: str, value: Any) -> None:
        from core.data.augment_specs import default_transform, listed_position

        new = copy.deepcopy(self._resolved())
        new.preset = "custom"
        t = next((x for x in new.transforms if x.name == name), None)
        if t is None:
            if what == "enabled" and not value:
                return
            t = default_transform(name, enabled=False)
            t.p = self._p_spins[name].value() / 100
            t.params = {k: ed.value() for k, ed in self._editors[name].items()}
            new.transforms.insert(listed_position(new.transforms, name), t)
        if what == "enabled":
            t.enabled = bool(value)
        elif what == "p":
            t.p = float(value)
        else:
            key, v = value
            t.params[key] = v
        self._write(new)

    def _on_other_toggled(self, index: int, on: bool) -> None:
        new = copy.deepcopy(self._resolved())
        new.preset = "custom"
        new.transforms[index].enabled = bool(on)
        self._write(new)

    def _write(self, new: AugmentConfig) -> None:
        """Store an edit made on the page: the controls already show it, the list of
        transforms without controls is listed again (a ticked transform moves them)."""
        self._writing = True
        try:
            self.state.set("augment", new)
        finally:
            self._writing = False
        self._show_others(new)
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(self.preset_combo.findData("custom"))
        self.preset_combo.blockSignals(False)
        self.schedule_preview()

    def _on_seed_changed(self, value: int) -> None:
        self._writing = True
        try:
            self.state.set("augment.seed", int(value))
        finally:
            self._writing = False
        self.schedule_preview()

    # ------------------------------------------------------------------ previews
    def reseed(self) -> None:
        self.preview_seed += 1
        self.schedule_preview()

    def preview_paths(self) -> list[str]:
        """The same few training images: the first of each of the first classes."""
        report = self.state.dataset_report
        if report is None:
            return []
        chosen: dict[str, str] = {}
        for rec in report.records:
            if getattr(rec, "subset", "") in ("val", "test"):
                continue
            if rec.class_name not in chosen:
                chosen[rec.class_name] = rec.path
            if len(chosen) >= PREVIEW_IMAGES:
                break
        return list(chosen.values())

    def schedule_preview(self) -> None:
        if self._built and self.isVisible():
            self._debounce.start()
        elif self._built:
            self._stale = True

    def _start_preview(self) -> None:
        paths = self.preview_paths()
        if self._preview_job is not None and self._preview_job.is_running():
            self._preview_job.cancel()
        if not paths:
            self._show_previews([])
            self.preview_hint.show()
            return
        self.preview_hint.hide()
        job = Job(preview_job, paths, copy.deepcopy(self.state.config.augment),
                  copy.deepcopy(self.state.config.model), PREVIEW_COUNT, self.preview_seed,
                  name="Augmentation preview")
        self._preview_job = job
        job.finished.connect(lambda rows, j=job: self._on_previews(j, rows))
        job.failed.connect(lambda msg, _tb, j=job: self._on_preview_failed(j, msg))
        job.start()

    def _on_previews(self, job: Job, rows) -> None:
        if job is not self._preview_job:
            return  # an older request finished late: drop it
        self.clear_message()
        refused = size_refused(self.state.config.model)
        if not rows:  # an empty preview said nothing: its images changed since the scan
            self.show_info("The preview images cannot be read now (changed or deleted since "
                           "the Data step's scan): press Scan again on the Data step.")
        elif refused:
            self.show_error(refused)
        self._show_previews(rows)

    def _on_preview_failed(self, job: Job, message: str) -> None:
        if job is self._preview_job:
            self.show_error(f"Preview not possible: {transform_fix(message)}")
            self._show_previews([])  # the pictures of the settings before were still shown

    def _show_previews(self, rows) -> None:
        self.preview_rows = rows
        while self.preview_grid.count():
            item = self.preview_grid.takeAt(0)
            if item.widget():
                item.widget().hide()
                item.widget().deleteLater()
        for r, (path, original, outs) in enumerate(rows):
            for c, image in enumerate([original] + list(outs)):
                # At most PREVIEW_SIDE pixels, smaller when the window is (six fit in 330 px).
                tile = FitImage(PREVIEW_SIDE, 40, frame="#4c9be8" if c == 0 else None)
                tile.set_image(image)
                tile.setToolTip(plain_tip(path if c == 0 else f"{path}\ntraining version {c}"))
                self.preview_grid.addWidget(tile, r, c)
        self.previews_updated.emit(len(rows))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.schedule_preview()

    def shutdown(self) -> None:
        self._debounce.stop()
        if self._preview_job is not None:
            self._preview_job.cancel()

