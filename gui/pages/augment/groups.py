"""One group of controls per transform the Augment page offers (``augment_specs.TRANSFORMS``):
a check box title, its description, how often it runs and an editor per parameter."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QSpinBox

from gui.pages.augment.param_widgets import ParamEditor


def build_group(spec: Any, edit: Callable[[str, str, Any], None]
                ) -> tuple[QGroupBox, QSpinBox, dict[str, ParamEditor]]:
    """The group box, its "How often" spin box and its editors by parameter name; every
    change calls ``edit(transform name, "enabled" | "p" | "param", value)``."""
    box = QGroupBox(spec.label)
    box.setCheckable(True)
    box.setChecked(False)
    box.setToolTip(spec.description)
    form = QFormLayout(box)
    form.setRowWrapPolicy(QFormLayout.WrapLongRows)  # a narrow column: field under label
    desc = QLabel(spec.description)
    desc.setWordWrap(True)
    desc.setObjectName("hint")
    form.addRow(desc)
    p_spin = QSpinBox()
    p_spin.setRange(0, 100)
    p_spin.setSuffix(" % of images")
    p_spin.setValue(round(spec.default_p * 100))
    p_spin.setMaximumWidth(160)
    p_spin.valueChanged.connect(lambda v, n=spec.name: edit(n, "p", v / 100))
    form.addRow("How often:", p_spin)
    editors = {}
    for ps in spec.params:
        ed = ParamEditor(ps)
        ed.changed.connect(lambda n=spec.name, k=ps.name, e=ed: edit(n, "param", (k, e.value())))
        form.addRow(ps.label + ":", ed)
        editors[ps.name] = ed
    box.toggled.connect(lambda on, n=spec.name: edit(n, "enabled", on))
    return box, p_spin, editors
