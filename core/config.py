"""The one typed configuration: data, model, augmentation, training, export, trust.

The GUI edits a :class:`StudioConfig`, the CLI builds one from its flags (or
reads ``--config FILE.json``), a run folder records the resolved one in
``config.json`` and a project file stores it.  ``to_dict``/``from_dict`` round-trip
exactly through JSON; unknown keys and wrong types are rejected with the dotted
path of the offending field, so a broken file gets a message a person can act
on.  ``version`` lets later releases migrate old files (:mod:`core.config_migrations`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from core.config_fields import FieldInfo, field_info, get_path, iter_fields, setting
from core.config_migrations import CONFIG_VERSION, FIX_THERE, lowered_text, migrate
from core.errors import ConfigError
from core.formats import DEFAULT_FORMATS, FormatName
from core.fsutil import atomic_write_text
from core.typed_json import (from_jsonable, json_text, load_json_file, parse_json,
                              to_jsonable)

#: What to do about a config file that is not JSON.
DAMAGED = "fix the file, or go without it: the defaults are used when no config is given"

_SWITCH_HELP = " Auto: on for GPUs, off for CPUs."


@dataclass
class DataConfig:
    """Where the images are and how they are split."""

    data_dir: str = setting("", label="Data folder",
                            help="The folder that holds one sub-folder per class.")
    val_split: float = setting(0.2, lo=0.0, hi=0.9, step=0.05, decimals=2, label="Validation share",
                               help="The share of each class kept aside to check the model on "
                                    "images it never trains on.")
    seed: int = setting(42, lo=0, hi=2**31 - 1, label="Split seed",
                        help="The same seed gives the same split, so runs can be compared.")
    # RAM for decoded, resized images so later epochs skip decoding (0 = off).
    cache_mb: int = setting(1024, lo=0, hi=1 << 20, unit="MB", label="Image cache",
                            help="Memory for decoded, resized images, so later epochs skip "
                                 "decoding. 0 turns it off.")
    # Near-copies (burst shots, re-saved or resized copies) on both sides of the split make
    # the validation figure a lie; the run start finds them with the feature store.
    keep_duplicates_together: bool = setting(
        True, label="Keep near-copies together",
        help="Put each group of near-copies (re-saved, resized, cropped or brightened copies "
             "of one picture) wholly in training or wholly in validation, so the model is "
             "never validated on a picture it trained on. Finding them runs the backbone "
             "over every image once (kept in the feature store for the next run).")


@dataclass
class FreezeConfig:
    """Which backbone layers train in the fine-tuning phase.

    mode: ``none`` (backbone frozen), ``all``, ``top_n`` (the last ``top_n``
    layers), ``from_layer`` (``from_layer`` and everything after it) or
    ``custom`` (exactly the layers named in ``layers``).
    """

    mode: Literal["none", "all", "top_n", "from_layer", "custom"] = setting(
        "top_n", label="Layers that fine-tune",
        help="Which backbone layers learn in phase 2: none, all, the top N, from a layer on, "
             "or exactly the ones ticked.")
    top_n: int = setting(30, lo=0, hi=100000, label="Top layers",
                         help="How many of the backbone's last layers learn in phase 2, counting "
                              "those without weights (activations, paddings, adds) and "
                              "batch norms, which stay frozen: on MobileNetV2, 30 trains "
                              "10 layers with weights. The count beside it says how many "
                              "weights train.")
    from_layer: str = setting("", label="From layer",
                              help="This layer and every layer after it learn in phase 2.")
    layers: list[str] = setting(default_factory=list, label="Chosen layers",
                                help="Exactly these backbone layers learn in phase 2.")

    @classmethod
    def parse(cls, text: str) -> "FreezeConfig":
        """Read the CLI form: ``none``, ``all``, a number N, a layer name, or layer names
        with commas between them (exactly those: the Model page's ticked layers, which had
        no flag)."""
        t = text.strip()
        if "," in t:
            names = [n.strip() for n in t.split(",") if n.strip()]
            return cls(mode="custom", layers=list(dict.fromkeys(names)))
        if t.lower() in ("none", "all"):
            return cls(mode=t.lower())  # type: ignore[arg-type]
        if t.isascii() and t.isdigit():  # "²" is a digit to str.isdigit, not to int()
            return cls(mode="top_n", top_n=int(t))
        if not t:
            raise ConfigError("--unfreeze needs none, all, a number of layers, a layer name or "
                              "layer names with commas between them")
        return cls(mode="from_layer", from_layer=t)

    def nothing_unfreezes(self) -> str:
        """Why phase 2 would train no backbone layer, in words ("" when some may): besides
        "none", the top 0 layers and no layer ticked ran a whole phase for the head alone."""
        if self.mode == "none":
            return "unfreeze: none"
        if self.mode == "top_n" and self.top_n <= 0:
            return "the top 0 layers"
        if self.mode == "custom" and not self.layers:
            return "no layer ticked"
        return ""


@dataclass
class ModelConfig:
    """Backbone, weights, input size and the classification head."""

    backbone: str = setting("MobileNetV2", label="Backbone",
                            help="The pretrained network the classifier is built on "
                                 "('python main.py backbones' lists them).")
    weights: str = setting("imagenet", label="Starting weights",
                           help="imagenet, none (from scratch), or a .h5 / .weights.h5 file.")
    image_size: int = setting(0, lo=32, hi=1024, step=16, unit="px", special=(0, "the backbone's default"),
                              label="Image size",
                              help="Images are resized to this square size before the model "
                                   "sees them; bigger sees finer detail but trains slower.")
    dropout: float = setting(0.2, lo=0.0, hi=0.9, step=0.05, decimals=3, label="Dropout",
                             help="The share of features the head ignores at random while "
                                  "training, so it does not lean on a few of them.")
    dense_units: int = setting(0, lo=1, hi=4096, special=(0, "no hidden layer"),
                               label="Hidden units",
                               help="Units of an extra dense layer before the softmax "
                                    "(0: none).")
    freeze: FreezeConfig = field(default_factory=FreezeConfig)


def names_weights_file(choice: Optional[str]) -> bool:
    """Whether a weights setting names a file (not "imagenet", "none" or empty, in any case
    and with stray spaces: "ImageNet" in a project file was checked as the file ./ImageNet,
    and " imagenet" was made a path beside the project on opening)."""
    return (choice or "").strip().lower() not in ("imagenet", "none", "")


@dataclass
class TransformConfig:
    """One augmentation step: an albumentations transform name, on/off, probability, params."""

    name: str = field(metadata={"what": "an albumentations transform, such as HorizontalFlip"})
    enabled: bool = True
    p: float = setting(0.5, lo=0.0, hi=1.0, step=0.05, decimals=2, label="Probability",
                       help="How often this transform is applied to an image.")
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class AugmentConfig:
    """Augmentation for training images (validation images are never augmented).

    ``preset`` names the starting point (none, light, medium, heavy, custom);
    ``transforms`` is what actually runs, so a user's edits are kept verbatim.
    """

    preset: Literal["none", "light", "medium", "heavy", "custom"] = setting(
        "light", label="Preset", help="none, light, medium, heavy, or custom (your own edits).")
    transforms: list[TransformConfig] = field(default_factory=list)
    seed: int = setting(0, lo=0, hi=2**31 - 1, label="Augmentation seed",
                        help="The same seed gives the same random changes.")


@dataclass
class TrainConfig:
    """Optimisation: the two-phase schedule of the Keras transfer-learning guide."""

    epochs: int = setting(10, lo=0, hi=1000, unit="epochs", label="Phase 1 (head)",
                          help="An epoch is one pass over all your training images.\nPhase 1 "
                               "trains only the new classification head while the pretrained "
                               "backbone stays frozen; a few epochs are usually enough. "
                               "With head training 'logistic' the head is fitted exactly "
                               "in one go and only 0 (skip phase 1) matters.")
    fine_tune_epochs: int = setting(10, lo=1, hi=1000, unit="epochs", special=(0, "skip"),
                                    label="Phase 2 (fine-tune)",
                                    help="Phase 2: the backbone layers chosen on the Model page "
                                         "also learn, slowly. 0 skips this phase.")
    batch_size: int = setting(32, lo=1, hi=4096, unit="images", label="Batch size",
                              help="A batch is the group of images the model looks at before it "
                                   "adjusts itself once (one step).\nBigger batches are faster "
                                   "per image but need more memory; steps per epoch = images "
                                   "÷ batch size.")
    learning_rate: float = setting(1e-3, lo=1e-7, hi=1.0,
                                   special=(0.0, "auto: LR finder"),
                                   label="Learning rate 1",
                                   help="The learning rate is how big each adjustment is.\nToo "
                                        "high and training jumps around; too low and it crawls. "
                                        "0.001 suits the new head. Auto (0) runs the "
                                        "learning-rate finder when the run starts.")
    fine_tune_learning_rate: float = setting(
        0.0, lo=1e-7, hi=1.0, special=(0.0, "auto: rate 1 ÷ 10"),
        label="Learning rate 2",
        help="The learning rate of phase 2. Auto (0) uses a tenth of phase 1's, so the "
             "pretrained features are refined, not destroyed.")
    label_smoothing: float = setting(0.1, lo=0.0, hi=0.5, step=0.05, decimals=2,
                                     label="Label smoothing",
                                     help="Asks the model to be at most this much less than 100 % "
                                          "sure.\nA little (0.1) makes it less over-confident and "
                                          "often more accurate on new images. The head fitted "
                                          "exactly (head solver: logistic) is fitted without it; "
                                          "its reported loss still counts it.")
    class_weights: Literal["auto", "none"] = setting(
        "auto", label="Class weights",
        help="auto: weight the loss by inverse class frequency when classes are imbalanced.")
    lr_schedule: Literal["cosine", "plateau", "constant"] = setting(
        "cosine", label="Learning-rate schedule", help="How the learning rate changes during a phase.")
    early_stopping_patience: int = setting(
        4, lo=1, hi=100, unit="epochs", special=(0, "off"), label="Early stopping after",
        help="Stop a phase when the validation result has not improved for this many epochs "
             "(the best epoch is kept). Off: always run every epoch.")
    mixed_precision: Literal["auto", "on", "off"] = setting(
        "auto", label="Mixed precision",
        help="Compute in 16-bit floats where it is safe: about twice as fast on a modern GPU, "
             "slower on a CPU." + _SWITCH_HELP)
    xla: Literal["auto", "on", "off"] = setting(
        "auto", label="XLA compilation",
        help="Compile the model into fused GPU code: faster per step after a slower first "
             "step." + _SWITCH_HELP)
    strategy: Literal["auto", "default", "one-device", "mirrored", "multi-worker"] = setting(
        "auto", label="Distribution strategy",
        help="auto: the GPU, or every local GPU when there are several; multi-worker: train "
             "across machines described by the TF_CONFIG environment variable.")
    seed: int = setting(42, lo=0, hi=2**31 - 1, label="Training seed",
                        help="The same seed gives the same run.")
    # Head phase on cached backbone features: the frozen backbone runs once per
    # cached view instead of once per epoch (see core/train).
    fast_head: bool = setting(True, label="Fast head",
                              help="Train the head on backbone features computed once per "
                                   "cached view instead of once per epoch.")
    head_feature_views: int = setting(2, lo=1, hi=50, label="Cached views",
                                      help="Augmented views of each image cached for the fast "
                                           "head when augmentation is on.")
    time_budget: int = setting(
        0, lo=10, hi=7 * 24 * 3600, unit="s", special=(0, "off"), label="Time budget",
        help="Finish the whole run within this many seconds: the app probes this machine, "
             "plans the cached views and the fine-tuning epochs to fit, and keeps the best "
             "model found in the time. Off: the epochs above decide.")
    head_solver: Literal["logistic", "adam"] = setting(
        "logistic", label="Head training",
        help="logistic: fit the new head exactly, as a regularised logistic regression on the "
             "cached features (its strength chosen by cross-validation): fast, and the most "
             "accurate on small sets. adam: train it for phase 1's epochs at learning rate 1. "
             "A head with hidden units always trains with adam.")

    def phase_learning_rate(self, phase: str) -> float:
        """The one learning-rate rule, the same for window and CLI.

        Phase 2 (fine_tune) uses ``fine_tune_learning_rate`` when it is set, else a
        tenth of phase 1's: fine-tuning must move the pretrained weights gently.
        """
        if phase == "head":
            return self.learning_rate
        return self.fine_tune_learning_rate or self.learning_rate / 10


@dataclass
class ExportConfig:
    """What ``export`` writes and how int8 calibration samples the training images."""

    formats: list[FormatName] = setting(default_factory=lambda: list(DEFAULT_FORMATS),
                                        label="Formats", help="The formats to export.")
    int8_calibration_images: int = setting(200, lo=1, hi=100000, label="Calibration images",
                                           help="Training images used to calibrate the int8 "
                                                "model.")
    int8_max_float_layers: int = setting(
        16, lo=0, hi=1000, label="int8 float layers at most",
        help="int8 keeps in float the layers TFLite's quantization debugger finds the least "
             "exact, worst first, until the file gives the app's answer often enough (see "
             "the agreement target); at most this many.\n0: every layer int8 (smallest and "
             "fastest, needed for an Edge TPU or a microcontroller).")
    int8_min_agreement: float = setting(
        0.99, lo=0.5, hi=1.0, step=0.005, decimals=3, label="int8 agreement target",
        help="int8 stops keeping layers in float once the file gives the app's top answer "
             "on this share of the calibration images.")
    int8_bias_correction: bool = setting(
        True, label="int8 bias correction",
        help="Correct each int8 layer's bias so that its mean output on the calibration "
             "images equals the float model's (rounding to 8 bits shifts it, and the shifts "
             "add up through the layers).  Only biases change: every op keeps its type.")
    int8_weight_rounding: bool = setting(
        True, label="int8 weight rounding",
        help="Round each int8 layer's weights so that its output on the calibration images "
             "stays closest to the float layer's (GPTQ), instead of each weight to its "
             "nearest step.  Only the int8 values change: every op keeps its type, the file "
             "its size and speed.")
    parity_images: int = setting(32, lo=1, hi=100000, label="Parity images",
                                 help="Validation images each exported file is checked on.")
    out_dir: str = setting("", label="Export folder", help="Where the export is written.")


@dataclass
class TrustConfig:
    """Calibrated confidence and "unknown" (:mod:`core.trust`), fitted when training ends."""

    unknown_keep: float = setting(
        0.95, lo=0.5, hi=1.0, step=0.01, decimals=2, label="Known images kept",
        help="The share of validation images (all of known classes) that must keep their "
             "class: the 'unknown' threshold is set so this many pass it.\nHigher calls fewer "
             "images 'unknown', lower catches more images of other things but also turns away "
             "more of yours.")


@dataclass
class StudioConfig:
    """Everything needed to reproduce a run."""

    version: int = setting(CONFIG_VERSION, label="Version",
                           help="The config format version (for migrations).")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    trust: TrustConfig = field(default_factory=TrustConfig)
    #: Not a setting: what reading an older file changed, in a sentence ("" when nothing;
    #: :func:`core.config_migrations.lowered_text`), for the reader to show once.
    migration_note = ""
    #: The same as (source, [(setting, old, new), ...]), for a reader whose flags may set
    #: some of them again (:func:`core.config_migrations.note_left`).
    migration_lowered = ()

    # -- serialisation -------------------------------------------------
    def to_dict(self) -> dict:
        return to_jsonable(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "config") -> "StudioConfig":
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object at the top level")
        lowered: list = []
        data = migrate(dict(data), source, cls, lowered)
        try:
            cfg = from_jsonable(cls, data, "")
        except ConfigError as exc:  # the file named once, before the setting
            raise ConfigError(f"{source}: {exc}; {FIX_THERE}") from None
        cfg.migration_note = lowered_text(source, lowered)
        cfg.migration_lowered = (source, lowered)
        return cfg

    def to_json(self) -> str:
        return json_text(self.to_dict()) + "\n"  # a non-UTF-8 folder name as an escape

    @classmethod
    def from_json(cls, text: str, source: str = "config") -> "StudioConfig":
        return cls.from_dict(parse_json(text, source, "config", DAMAGED), source)

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> "StudioConfig":
        """A config file (a project file's settings: :func:`core.project.load_settings`)."""
        return cls.from_dict(load_json_file(Path(path), "config", DAMAGED), str(path))

    def validate(self) -> "StudioConfig":
        """Check every setting against its declared bounds; raise ConfigError naming the field."""
        for info in iter_fields(StudioConfig):
            why = info.problem(get_path(self, info.path))
            if why:
                raise ConfigError(f"{info.path} {why}")
        spec = field_info(TransformConfig, "p")
        for i, t in enumerate(self.augment.transforms):
            if spec.problem(t.p):
                raise ConfigError(f"augment.transforms[{i}] ({t.name}): p {spec.problem(t.p)}")
        return self

    def problem(self) -> str:
        """What :meth:`validate` refuses ("" when nothing)."""
        try:
            self.validate()
        except ConfigError as exc:
            return str(exc)
        return ""

    @staticmethod
    def field(path: str) -> FieldInfo:
        """Bounds, label and help of one setting (``"train.learning_rate"``)."""
        return field_info(StudioConfig, path)

    def copy(self) -> "StudioConfig":
        return StudioConfig.from_dict(self.to_dict())
