"""``python main.py train``: train a new run, or continue one with ``--resume``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.cli.options import add_setting
from core.cli.terminal import name, printable
from core.config import FreezeConfig, StudioConfig
from core.typed_json import json_text

#: Flags that set one setting each: registered from, and applied through, this one table.
SETTING_FLAGS = (("--image-size", "model.image_size"), ("--epochs", "train.epochs"),
                 ("--fine-tune-epochs", "train.fine_tune_epochs"),
                 ("--batch-size", "train.batch_size"), ("--lr", "train.learning_rate"),
                 ("--fine-tune-lr", "train.fine_tune_learning_rate"),
                 ("--val-split", "data.val_split"), ("--strategy", "train.strategy"),
                 ("--mixed-precision", "train.mixed_precision"), ("--xla", "train.xla"),
                 ("--keep-duplicates-together", "data.keep_duplicates_together"),
                 ("--time-budget", "train.time_budget"),
                 ("--unknown-keep", "trust.unknown_keep"),
                 # the window's other knobs (they could be set only through --config)
                 ("--dropout", "model.dropout"), ("--dense-units", "model.dense_units"),
                 ("--head-solver", "train.head_solver"), ("--lr-schedule", "train.lr_schedule"),
                 ("--label-smoothing", "train.label_smoothing"),
                 ("--patience", "train.early_stopping_patience"),
                 ("--augment-seed", "augment.seed"), ("--cache-mb", "data.cache_mb"))


def register(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a backbone on DATA_DIR (one sub-folder per class)",
                       description="Train in two phases: the new head with the backbone frozen, "
                       "then the unfrozen layers at a lower learning rate. Writes a run folder "
                       "(model.keras, metrics.json, history.csv, checkpoints) that "
                       "'train --resume' continues.")
    p.add_argument("data_dir", nargs="?", metavar="DATA_DIR")
    p.add_argument("--backbone", help="a keras.applications name (see 'backbones'), any case "
                   f"(default {StudioConfig.field('model.backbone').default})")
    p.add_argument("--weights", help="imagenet (default), none, or a .h5/.weights.h5 file")
    for flag, path in SETTING_FLAGS:
        add_setting(p, flag, path)
    p.add_argument("--unfreeze", help="fine-tuning: none, all, N (top N layers), a layer "
                   "name (it and every layer after it) or NAME,NAME,... (exactly those; "
                   "one alone: NAME,) "
                   f"(default {FreezeConfig().top_n}: the top {FreezeConfig().top_n})")
    p.add_argument("--augment", help="preset none|light|medium|heavy, or a JSON file (A.save, "
                   "a run's config.json or a project) (default light)")
    add_setting(p, "--seed", "train.seed", "(also the split's seed, unless --split-seed)")
    # the window has both seeds (Data page, Train page): a window run could not be repeated
    # with flags when they differed (a review)
    add_setting(p, "--split-seed", "data.seed")
    p.add_argument("--config", help="a config JSON (a run's config.json works); flags override it")
    p.add_argument("--out", help="run folder to create (default: <time>-<backbone> in the app's "
                   "runs folder, the same one the window uses; see README)")
    p.add_argument("--from-run", metavar="RUN_DIR", help="start from that run's backbone "
                   "(fine-tuned, when it was): a new run on grown data goes on from what the run "
                   "learned, as the window's Sort step 'Fine-tune from this run' does; the "
                   "run's backbone and image size unless --backbone, --image-size or --config "
                   "say otherwise")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped or killed run")
    p.add_argument("--data", metavar="NEW_DIR", help="with --resume: the run's data folder has "
                   "moved here (the same files under the same names)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace):
    """The StudioConfig these flags describe (on top of --config when given)."""
    from core.data.augment import preset_config
    from core.errors import ConfigError

    from core.project import load_settings

    cfg = load_settings(args.config) if args.config else StudioConfig()
    from_file = cfg.copy()
    if not args.config and args.augment is None:
        cfg.augment = preset_config("light")
    if args.data_dir:
        cfg.data.data_dir = args.data_dir
    if args.backbone:
        cfg.model.backbone = args.backbone
    if args.weights:
        cfg.model.weights = args.weights
    if args.augment:  # before the flags: --augment-seed then applies to it
        cfg.augment = augment_from_flag(args.augment, cfg.augment.seed)
    for flag, path in SETTING_FLAGS:
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            section, leaf = path.split(".")
            setattr(getattr(cfg, section), leaf, value)
    if args.unfreeze:
        cfg.model.freeze = FreezeConfig.parse(args.unfreeze)
    elif args.config and args.backbone:
        reset_named_layers(cfg, from_file, args.config)
    if args.seed is not None:
        cfg.data.seed = cfg.train.seed = args.seed
    if args.split_seed is not None:
        cfg.data.seed = args.split_seed
    if not cfg.data.data_dir:
        raise ConfigError("give DATA_DIR (a folder with one sub-folder per class), or --resume RUN_DIR")
    try:
        cfg.validate()
    except ConfigError as exc:  # name the file when the value is the file's, not a flag's
        if args.config and from_file.problem() == str(exc):
            raise ConfigError(f"{args.config}: {exc}; fix it there, or override it with its "
                              "flag") from None
        raise
    if args.config and cfg.model.backbone == from_file.model.backbone:
        from core.errors import UserError
        from core.model.backbones import get_backbone

        try:  # checked again when the run starts, where the file is no longer known
            get_backbone(cfg.model.backbone)
        except UserError as exc:
            raise ConfigError(f"{args.config}: model.backbone: {exc}; fix it there, or "
                              "override it with --backbone") from None
    check_image_size(cfg, args)
    if args.config and args.augment is None:
        check_file_augment(cfg, args.config)
    if args.config:
        check_file_paths(cfg, args)
    return cfg


def check_file_paths(cfg, args: argparse.Namespace) -> None:
    """The data folder and weights file the --config file names (no flag replaced them),
    there or not: they were said "data folder not found" and "weights file X not found", as
    a mistyped DATA_DIR or --weights are, naming neither the file nor what to do (a review)."""
    from core.config import names_weights_file
    from core.errors import ConfigError

    gone = "is not there (moved, renamed, or on a drive that is not connected)"
    if not args.data_dir and not os.path.exists(cfg.data.data_dir):
        raise ConfigError(f"{args.config}: its data folder {cfg.data.data_dir} {gone}: give "
                          "the folder the images are in now as DATA_DIR, or fix "
                          "data.data_dir there")
    weights = (cfg.model.weights or "").strip()
    if not args.weights and not args.from_run and names_weights_file(weights) \
            and not os.path.exists(os.path.expanduser(weights)):
        raise ConfigError(f"{args.config}: its weights file {weights} {gone}: give it with "
                          "--weights FILE (or --weights imagenet or none), or fix "
                          "model.weights there")


def check_image_size(cfg, args: argparse.Namespace) -> None:
    """The image size against the backbone's range before the data is scanned: it was refused
    when the run began, as "model.image_size: 32 px ... use 0 for the default" (a review)."""
    from core.cli.options import check_image_size_flag
    from core.errors import ConfigError

    in_file = args.image_size is None and args.config
    try:
        check_image_size_flag(cfg.model.backbone, cfg.model.weights, cfg.model.image_size,
                              "model.image_size:" if in_file else "--image-size")
    except ConfigError as exc:
        if in_file:
            raise ConfigError(f"{args.config}: {exc}; fix it there, or override it with "
                              "--image-size") from None
        raise


def check_file_augment(cfg, config_path: str) -> None:
    """The --config file's augmentation, built once here so that a problem names the file:
    a misspelt transform, a Lambda or a parameter of the wrong kind said only
    "augment.transforms[0]: ..." when the run began (``--augment FILE`` named its file)."""
    from core.data.augment import build_compose
    from core.data.augment_files import CHECK_SIZE
    from core.errors import ConfigError

    try:  # built again at the run's image size when it starts
        build_compose(cfg.augment, CHECK_SIZE)
    except ConfigError as exc:
        raise ConfigError(f"{config_path}: {exc}; fix it there, or override it with "
                          "--augment") from None


def reset_named_layers(cfg, from_file, config_path: str) -> None:
    """What the Model page does when the backbone changes: layers chosen by name were the
    file's backbone's, so fine-tuning goes back to the top N layers, with a warning line.
    --backbone over a project with ticked layers was refused as "no layer 'block_5_expand'
    (--unfreeze)", a flag not given, with close matches from the other network (a review)."""
    from core.errors import UserError
    from core.model.backbones import get_backbone

    freeze = from_file.model.freeze
    if freeze.mode not in ("custom", "from_layer"):
        return
    try:
        old, new = (get_backbone(b).name for b in (from_file.model.backbone,
                                                    cfg.model.backbone))
    except UserError:  # an unknown name is refused, by name, when the config is checked
        return
    if old != new:
        cfg.model.freeze = FreezeConfig(top_n=freeze.top_n)
        print(f"warning: the layers {name(config_path)} chose by name were {old}'s: "
              f"fine-tuning is back to the top {freeze.top_n} layers of {new} (give "
              "--unfreeze to choose others)", file=sys.stderr, flush=True)


def augment_from_flag(value: str, seed: int):
    """``--augment``'s value: a preset (keeping a --config file's ``seed``), or a file.

    A file not ending in .json (an A.save YAML file, a project) was called an "unknown
    preset" with its whole path as the name (a review): anything that is a file, or reads
    like a path, is read as one, and the reader says what it takes."""
    from core.data.augment import PRESETS, preset_config
    from core.data.augment_files import load_augment_file
    from core.errors import ConfigError

    if value.lower() in PRESETS:
        return preset_config(value.lower(), seed)
    meant = meant_preset(value)
    if meant:
        raise ConfigError(f"--augment: unknown preset or missing file {value!r}: did you mean "
                          f"the preset {meant!r}?")
    if os.path.exists(value) or any(c in value for c in "./\\"):
        return load_augment_file(os.path.expanduser(value))
    raise ConfigError(f"--augment: unknown preset {value!r}; choose one of "
                      f"{', '.join(PRESETS)}, or give a .json augmentation file (saved by "
                      "A.save, or a project or config file)")


def meant_preset(value: str) -> str:
    """The preset a mistyped ``--augment`` value names ("heavy.", "light ", "medium.json" that
    is not there), or "": "heavy." was read as a file name and refused as "heavy.: augmentation
    file not found".  A path with a folder in it, or a file that exists, is never a preset."""
    from core.data.augment import PRESETS

    if os.path.exists(value) or any(c in value for c in "/\\"):
        return ""
    for typed in (value.rstrip(". ").strip(), os.path.splitext(value)[0].strip()):
        if typed.lower() in PRESETS:
            return typed.lower()
    return ""


#: What ``--resume`` takes from the run folder: a flag for one of these would be ignored.
NEW_RUN_ONLY = ("data_dir", "backbone", "weights", *(f.lstrip("-").replace("-", "_")
                for f, _ in SETTING_FLAGS), "unfreeze", "augment", "seed", "config", "out",
                "split_seed", "from_run")


def check_resume_flags(args: argparse.Namespace) -> None:
    """Refuse flags a resume would silently ignore: it continues with the run's own settings."""
    from core.errors import UserError

    given = [name for name in NEW_RUN_ONLY if getattr(args, name, None) is not None]
    if given:
        shown = ", ".join("DATA_DIR" if n == "data_dir" else "--" + n.replace("_", "-")
                          for n in given)
        raise UserError(f"--resume continues {args.resume} with the settings it started with "
                        f"(its config.json), so {shown} would be ignored: leave "
                        f"{'it' if len(given) == 1 else 'them'} out, or start a new run from "
                        f"what it learned with 'train DATA_DIR --from-run {args.resume}'")


def from_run_defaults(args: argparse.Namespace) -> None:
    """--from-run without --backbone (or --image-size) and no --config: the run's.

    The default backbone (MobileNetV2) used to replace the run's, so "continue from
    this run" started from ImageNet with one warning line.
    """
    from core.runs.folder import RunFolder

    if args.config or (args.backbone and args.image_size is not None):
        return
    run = RunFolder(args.from_run)
    run.require_run_folder("so --from-run cannot start from it")
    old = run.load_config().model
    args.backbone = args.backbone or old.backbone
    if args.image_size is None:
        args.image_size = old.image_size


def run(args: argparse.Namespace) -> int:
    from core.appdirs import default_runs_dir
    from core.cli.interrupt import stop_on_interrupt
    from core.cli.train_watch import RunWatch
    from core.config_migrations import note_left
    from core.errors import UserError
    from core.events import CancelToken, Cancelled, Log
    from core.runs.records import RunStatus

    cancel = CancelToken()
    listener = RunWatch(cancel, args.resume or args.out or "")
    from core.train.engine import resume_training, train

    try:
        if args.resume:
            check_resume_flags(args)
            with stop_on_interrupt(cancel):
                result = resume_training(args.resume, listener=listener, cancel=cancel,
                                         data_dir=args.data)
        else:
            if args.data:
                raise UserError("--data is for --resume (a run whose data folder moved); a new "
                                "run takes its data folder as DATA_DIR")
            if args.from_run:
                from_run_defaults(args)
            cfg = config_from_args(args)
            note = note_left(cfg)  # an older --config's numbers over today's limits that
            if note:  # no flag set again
                listener(Log(note, "warning"))
            if args.from_run:
                from core.label.update import train_from_run

                if args.weights:
                    raise UserError("--from-run takes the backbone's weights from that run; "
                                    "leave out --weights")
                with stop_on_interrupt(cancel):
                    result = train_from_run(args.from_run, cfg, args.out,
                                            runs_base=default_runs_dir(), listener=listener,
                                            cancel=cancel)
            else:
                with stop_on_interrupt(cancel):
                    result = train(cfg, args.out, runs_base=default_runs_dir(),
                                   listener=listener, cancel=cancel)
    except Cancelled:  # Ctrl+C before the first batch: the scan or the split stopped
        print(f"\nstopped before training went on; {name(args.resume)} is as it was: continue "
              f"with 'python main.py train --resume {name(args.resume)}'" if args.resume else
              "\nstopped before training began; nothing was trained", file=sys.stderr)
        return 130
    except UserError as exc:
        add_resume_hint(exc, listener.began)
        raise
    except KeyboardInterrupt:
        from core.runs.folder import RunFolder

        where = listener.started  # --out names a folder the run may not have made yet (a review)
        made = bool(where) and RunFolder(where).config_path.exists()
        print("\ninterrupted" + (f": continue with 'python main.py train --resume {name(where)}'"
                                  if made else "; nothing was trained"), file=sys.stderr)
        return 130
    if listener.reader_left:  # no one reads what follows; the run is kept stopped, to resume
        raise BrokenPipeError
    if args.json:
        print(json_text(_result_dict(result), strict=True))
    else:
        print(f"run folder: {name(result.run_dir)}"
              + ("" if Path(result.run_dir).exists() else " (written by the chief worker)"))
        if result.metrics:
            print(printable(result.metrics.to_text(name)))
        if result.status is RunStatus.STOPPED:
            print(f"stopped: continue with 'python main.py train --resume {name(result.run_dir)}'",
                  file=sys.stderr)
    return 130 if result.status is RunStatus.STOPPED and cancel.cancelled else 0


def add_resume_hint(exc: Exception, run_dir: str) -> None:
    """Add how to resume to ``exc``'s message when training stopped on it after finished
    epochs (a full disk, a drive pulled): "free some disk space and try again" read as "run
    the command again", a new run from epoch 1, while --resume keeps them (a review)."""
    from core.errors import UserError
    from core.runs.folder import RunFolder

    text = str(exc)
    if not run_dir or "--resume" in text:
        return
    run = RunFolder(run_dir)
    try:
        status = run.run_info().status
        kept = status is not None and status.resumable and run.checkpoint.state.exists()
    except (UserError, OSError):
        return
    if kept:
        exc.args = (f"{text.rstrip('.')}; its finished epochs are kept: continue with "
                    f"'python main.py train --resume {name(run_dir)}'",)


def _result_dict(result) -> dict:
    """The run's result as ``--json`` prints it: metrics as metrics.json has them, with the
    calibration the run ended with (a pipeline had to open the run folder for the
    temperature and threshold), and the run folder absolute, as ``runs --json`` gives it
    (it echoed ``--out`` or ``--resume`` as typed: a scripting review)."""
    from core.errors import UserError
    from core.runs.folder import RunFolder

    out = result.to_dict()
    out["run_dir"] = os.path.abspath(result.run_dir)
    run = RunFolder(result.run_dir)
    if out.get("metrics") is not None and run.metrics_path.exists():
        try:
            calibration = run.metrics().get("calibration")
        except (UserError, AttributeError):
            calibration = None
        if calibration is not None:
            out["metrics"]["calibration"] = calibration
    return out
