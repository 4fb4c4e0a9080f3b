"""What a settings file may hold is what its version says it holds.

An app reads a file of its own version strictly: a setting it does not know, a choice it
does not offer or a number over its limit is refused with "fix it there".  So when a
release adds a setting without a new version, an older app opening that release's file
says "unknown setting 'unknown_keep' in trust ...; fix it there" (eight settings came so,
and the apps of those days say exactly that of today's files), and following the advice
drops the setting.  With a new version it says "written by a newer Fine-Tune Studio ...;
update the app".  This test records the layout of each version, so a changed layout
under the old number fails here, saying what to do.
"""

import dataclasses
import typing

from core.config import StudioConfig, TransformConfig
from core.config_fields import iter_fields
from core.config_migrations import CONFIG_VERSION, MIGRATIONS
from core.project import PROJECT_VERSION, Project

_INT = 2147483647
_CHOICE_SWITCH = ("auto", "on", "off")

#: Each version's settings: path -> (kind, lowest, highest, special value, choices).
#: Labels and help may change freely; these may not without a new version.
CONFIG_LAYOUTS = {2: {
    "version": ("int", None, None, None, ()),
    "data.data_dir": ("str", None, None, None, ()),
    "data.val_split": ("float", 0.0, 0.9, None, ()),
    "data.seed": ("int", 0, _INT, None, ()),
    "data.cache_mb": ("int", 0, 1048576, None, ()),
    "data.keep_duplicates_together": ("bool", None, None, None, ()),
    "model.backbone": ("str", None, None, None, ()),
    "model.weights": ("str", None, None, None, ()),
    "model.image_size": ("int", 32, 1024, 0, ()),
    "model.dropout": ("float", 0.0, 0.9, None, ()),
    "model.dense_units": ("int", 1, 4096, 0, ()),
    "model.freeze.mode": ("choice", None, None, None,
                          ("none", "all", "top_n", "from_layer", "custom")),
    "model.freeze.top_n": ("int", 0, 100000, None, ()),
    "model.freeze.from_layer": ("str", None, None, None, ()),
    "model.freeze.layers": ("list of str", None, None, None, ()),
    "augment.preset": ("choice", None, None, None, ("none", "light", "medium", "heavy", "custom")),
    "augment.transforms": ("list of TransformConfig", None, None, None, ()),
    "augment.seed": ("int", 0, _INT, None, ()),
    "train.epochs": ("int", 0, 1000, None, ()),
    "train.fine_tune_epochs": ("int", 1, 1000, 0, ()),
    "train.batch_size": ("int", 1, 4096, None, ()),
    "train.learning_rate": ("float", 1e-07, 1.0, 0.0, ()),
    "train.fine_tune_learning_rate": ("float", 1e-07, 1.0, 0.0, ()),
    "train.label_smoothing": ("float", 0.0, 0.5, None, ()),
    "train.class_weights": ("choice", None, None, None, ("auto", "none")),
    "train.lr_schedule": ("choice", None, None, None, ("cosine", "plateau", "constant")),
    "train.early_stopping_patience": ("int", 1, 100, 0, ()),
    "train.mixed_precision": ("choice", None, None, None, _CHOICE_SWITCH),
    "train.xla": ("choice", None, None, None, _CHOICE_SWITCH),
    "train.strategy": ("choice", None, None, None,
                       ("auto", "default", "one-device", "mirrored", "multi-worker")),
    "train.seed": ("int", 0, _INT, None, ()),
    "train.fast_head": ("bool", None, None, None, ()),
    "train.head_feature_views": ("int", 1, 50, None, ()),
    "train.time_budget": ("int", 10, 604800, 0, ()),
    "train.head_solver": ("choice", None, None, None, ("logistic", "adam")),
    "export.formats": ("list of choice", None, None, None,
                       ("keras", "savedmodel", "tflite", "tflite-fp16", "tflite-int8", "onnx")),
    "export.int8_calibration_images": ("int", 1, 100000, None, ()),
    "export.int8_max_float_layers": ("int", 0, 1000, None, ()),
    "export.int8_min_agreement": ("float", 0.5, 1.0, None, ()),
    "export.int8_bias_correction": ("bool", None, None, None, ()),
    "export.int8_weight_rounding": ("bool", None, None, None, ()),
    "export.parity_images": ("int", 1, 100000, None, ()),
    "export.out_dir": ("str", None, None, None, ()),
    "trust.unknown_keep": ("float", 0.5, 1.0, None, ()),
    "augment.transforms[].name": ("str", None, None, None, ()),
    "augment.transforms[].enabled": ("bool", None, None, None, ()),
    "augment.transforms[].p": ("float", 0.0, 1.0, None, ()),
    "augment.transforms[].params": ("section", None, None, None, ()),
}}

#: Each project version's entries (its settings are the config's, versioned above).
PROJECT_LAYOUTS = {1: ("config", "runs", "last_model", "version", "unknown_thresholds")}


def _kind(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "choice"
    if origin is list:
        (item,) = typing.get_args(tp)
        return "list of " + ("choice" if typing.get_origin(item) is typing.Literal
                             else item.__name__)
    return "section" if origin is dict else tp.__name__


def _choices(tp) -> tuple:
    for arg in (tp, *typing.get_args(tp)):
        if typing.get_origin(arg) is typing.Literal:
            return typing.get_args(arg)
    return ()


def config_layout() -> dict:
    """This release's settings, as :data:`CONFIG_LAYOUTS` records them."""
    infos = [*iter_fields(StudioConfig), *iter_fields(TransformConfig, "augment.transforms[].")]
    return {i.path: (_kind(i.type), i.lo, i.hi, i.special[0] if i.special else None,
                     _choices(i.type)) for i in infos}


def _changes(then: dict, now: dict) -> str:
    said = [f"{p} is new" for p in now if p not in then]
    said += [f"{p} is gone" for p in then if p not in now]
    said += [f"{p} was {then[p]}, is {now[p]}" for p in now if p in then and now[p] != then[p]]
    return "; ".join(said)


def test_a_changed_settings_layout_has_a_new_config_version():
    recorded = CONFIG_LAYOUTS.get(CONFIG_VERSION)
    assert recorded is not None, (
        f"CONFIG_VERSION is {CONFIG_VERSION}: record its layout in CONFIG_LAYOUTS here "
        f"(config_layout() prints it)")
    changes = _changes(recorded, config_layout())
    assert not changes, (
        f"The settings changed under config version {CONFIG_VERSION} ({changes}): an older "
        f"app would refuse this release's files as damaged ('unknown setting ...; fix it "
        f"there') instead of saying they are newer. Raise CONFIG_VERSION, add the migration "
        f"from {CONFIG_VERSION} to core.config_migrations.MIGRATIONS (one that only returns "
        f"the file, for a new setting with a default), and record the new layout here.")


def test_every_older_config_version_has_its_migration():
    assert sorted(MIGRATIONS) == list(range(1, CONFIG_VERSION))


def test_a_changed_project_layout_has_a_new_project_version():
    now = tuple(f.name for f in dataclasses.fields(Project))
    assert PROJECT_LAYOUTS.get(PROJECT_VERSION) == now, (
        f"A project file's entries are {now} under project version {PROJECT_VERSION}, "
        f"recorded as {PROJECT_LAYOUTS.get(PROJECT_VERSION)}: a new entry needs a new "
        "PROJECT_VERSION (an older app said 'unknown entry' of it), recorded here.")
