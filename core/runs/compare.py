"""Which settings really differ between two runs, in the words the window uses.

Two runs can store the same training in different spellings: the window
keeps ``augment.transforms`` empty under the preset "light" (an empty list
means "that preset", :func:`core.data.augment.resolve`), the command line
stores the preset's transforms spelled out; a version-1 config stores the
fine-tuning learning rate that a version-2 one leaves at 0 ("a tenth of
phase 1's").  Comparing the stored JSON would call those runs different.  So
each run's config is read as a :class:`core.config.StudioConfig` (migrated),
its augmentation resolved and its fine-tuning rate made explicit, and only
then compared, setting by setting.

Each difference carries the setting's label from :mod:`core.config`
("Phase 2 (fine-tune)", not ``train.fine_tune_epochs``), a short text per
value for a table cell and the full value for a tooltip (a list of transforms
is "3 transforms: HorizontalFlip, …" in the cell).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.config import StudioConfig
from core.config_fields import get_path, iter_fields
from core.config_migrations import as_run_trained
from core.errors import ConfigError
from core.model.build import exact_fit_planned, is_from_scratch
from core.runs.folder import FILES
from core.typed_json import to_jsonable

#: Longest value text a table cell gets; longer values are summarised.
SHORT = 40
#: Two lists of names longer than this are said by what sets them apart: a table cell of a
#: 900-pixel window shows about this much ("cracked, good, poly_cracked, po…" hid the one
#: class that differed).
NAMES_SHORT = 24


@dataclass(frozen=True)
class SettingDifference:
    """One setting whose value differs between run A and run B."""

    path: str  # dotted key, as in config.json ("train.fine_tune_epochs")
    label: str  # the window's words ("Phase 2 (fine-tune)")
    a: Any  # the effective values (JSON-like)
    b: Any

    @property
    def a_text(self) -> str:
        return side_text(self.a, self.b)

    @property
    def b_text(self) -> str:
        return side_text(self.b, self.a)

    @property
    def a_full(self) -> str:
        return full_text(self.a)

    @property
    def b_full(self) -> str:
        return full_text(self.b)


def setting_label(path: str) -> str:
    """The label the window shows for ``path``; a readable fallback for unlabelled keys."""
    try:
        label = StudioConfig.field(path).label
    except KeyError:
        label = ""
    if label:
        return label
    if path == "augment.transforms":
        return "Augmentation steps"
    return path.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def effective_settings(config: dict) -> dict[str, Any]:
    """``{dotted path: value}`` of what a run really trained with.

    A config this app cannot read as a :class:`StudioConfig` (damaged, or from
    a newer release) is compared as stored, key by key.
    """
    try:
        cfg = StudioConfig.from_dict(config, "run config")
    except ConfigError:
        return _flatten(config)
    as_run_trained(cfg, config)  # settings its version did not have: as it trained
    from core.data.augment import resolve  # albumentations: only when runs are compared

    try:
        cfg.augment = resolve(cfg.augment)
    except ConfigError:
        pass  # an unknown preset: compare it as written
    cfg.train.fine_tune_learning_rate = cfg.train.phase_learning_rate("fine_tune")
    out = {info.path: to_jsonable(get_path(cfg, info.path)) for info in iter_fields(StudioConfig)}
    if exact_fit_planned(cfg) and cfg.train.epochs >= 1:  # the setting did nothing: the
        out["train.epochs"] = EXACT_FIT  # report showed "2 epochs", bold as changed (a review)
    out.update(_unused_head_settings(cfg))
    return out


def _unused_head_settings(cfg: StudioConfig) -> dict[str, str]:
    """The head settings a run could not use, as it trained: a run from random weights was
    reported with "Head training: logistic" and "Fast head: on" while its head trained with
    Adam on the images themselves (a report review)."""
    out = {}
    scratch = is_from_scratch(cfg.model)
    if scratch and cfg.train.fast_head:
        out["train.fast_head"] = FAST_HEAD_UNUSED
    if cfg.train.head_solver == "logistic" and not exact_fit_planned(cfg):
        out["train.head_solver"] = (
            "adam (from random weights the backbone's features change as it learns: no "
            "exact fit)" if scratch else
            "adam (a head with hidden units trains with adam)" if cfg.model.dense_units else
            "adam (the exact fit needs the fast head's cached features)")
    return out


#: What a run from random weights shows for "Fast head" (on: it had nothing to cache).
FAST_HEAD_UNUSED = "not used (from random weights every layer learns from the start)"


#: Phase 1's epochs of a run whose head was fitted exactly (the Train page turns them off).
EXACT_FIT = "exact fit (1 step; epochs not used)"


#: What a run whose config.json could not be read shows for its settings.
UNKNOWN = f"unknown ({FILES.config} unreadable)"


def settings_known(config: Any) -> bool:
    """Whether a stored config says what the run trained with ({} reads as every default)."""
    return isinstance(config, dict) and isinstance(config.get("model"), dict)


def settings_diff(a: dict, b: dict) -> list[SettingDifference]:
    """The settings that differ between configs ``a`` and ``b``, in the config's order.

    A run whose config is unreadable (indexed as ``{}``) is one row, "unknown": read as
    every default, a damaged EfficientNetB0 run compared as MobileNetV2.
    """
    if not (settings_known(a) and settings_known(b)):
        return [SettingDifference("config", "Settings", *(
            "as recorded" if settings_known(c) else UNKNOWN for c in (a, b)))]
    fa, fb = effective_settings(a or {}), effective_settings(b or {})
    keys = list(fa) + [k for k in fb if k not in fa]
    return [SettingDifference(k, setting_label(k), fa.get(k), fb.get(k))
            for k in keys if fa.get(k) != fb.get(k)]


def data_diff(a, b) -> list[SettingDifference]:
    """What differs in the data two runs (:class:`~core.runs.summary.RunSummary`) learned from.

    Same settings on other classes or other images is not "the same run twice":
    a 2-class and a 3-class run were shown as "same settings" side by side.
    """
    rows = [("data.classes", "Classes", list(a.classes), list(b.classes)),
            ("data.images", "Images", a.images, b.images),
            ("data.fingerprint", "Data (file names and sizes)", a.dataset_fingerprint,
             b.dataset_fingerprint)]
    out = [SettingDifference(path, label, va, vb) for path, label, va, vb in rows
           if va != vb and va is not None and vb is not None]
    if any(d.path != "data.fingerprint" for d in out):  # the fingerprint says nothing more
        out = [d for d in out if d.path != "data.fingerprint"]
    return out


def short_text(value: Any) -> str:
    """A value in a few words: numbers as written, lists and dicts summarised."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value or "(empty)"
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v
                                                 for v in value):
        names = [str(v["name"]) + ("" if v.get("enabled", True) else " (off)") for v in value]
        head = f"{len(names)} transform{'s' if len(names) != 1 else ''}: "
        return _clip(head + ", ".join(names))
    if isinstance(value, list):
        return _clip(", ".join(short_text(v) for v in value)) if value else "(none)"
    if isinstance(value, dict):
        return f"{len(value)} setting{'s' if len(value) != 1 else ''}" if value else "(none)"
    return _clip(str(value))


def side_text(mine: Any, other: Any) -> str:
    """:func:`short_text` of one side; two long lists of names (classes, formats) as their
    count and what sets them apart.  Cut at :data:`SHORT` characters, a 2-class and a 3-class
    run both read "blue_berries_with_a_long_name, green_pe…"."""
    if not (_names(mine) and _names(other)) or \
            max(len(", ".join(mine)), len(", ".join(other))) <= NAMES_SHORT:  # both alike
        return short_text(mine)
    from collections import Counter

    # by count: lists that differ by a repeated name were said to be "in another order"
    also = list((Counter(mine) - Counter(other)).elements())
    lacks = list((Counter(other) - Counter(mine)).elements())
    parts = [str(len(mine))] + (["also " + ", ".join(also)] if also else []) \
        + (["lacks " + ", ".join(lacks)] if lacks else [])
    if not also and not lacks:
        parts.append("in another order")
    return _clip(" · ".join(parts))


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def full_text(value: Any) -> str:
    """The whole value, for a tooltip (lists and dicts as indented JSON)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, indent=1, ensure_ascii=False)
    return short_text(value) if not isinstance(value, str) else (value or "(empty)")


def _clip(text: str) -> str:
    return text if len(text) <= SHORT else text[:SHORT - 1].rstrip(", ") + "…"


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        out.update(_flatten(v, key) if isinstance(v, dict) and v else {key: v})
    return out
