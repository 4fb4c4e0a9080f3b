"""``python main.py train``: train a new run, or continue one with ``--resume``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a backbone on DATA_DIR (one sub-folder per class)",
                       description="Train in two phases: the new head with the backbone frozen, "
                       "then the unfrozen layers at a lower learning rate. Writes a run folder "
                       "(model.keras, metrics.json, history.csv, checkpoints) that "
                       "'train --resume' continues.")
    p.add_argument("data_dir", nargs="?", metavar="DATA_DIR")
    p.add_argument("--backbone", help="a keras.applications name (see 'backbones'), any case")
    p.add_argument("--weights", help="imagenet (default), none, or a .h5/.weights.h5 file")
    p.add_argument("--image-size", type=int, help="square input size (default: the backbone's)")
    p.add_argument("--epochs", type=int, help="head-phase epochs (default 10)")
    p.add_argument("--fine-tune-epochs", type=int, help="fine-tuning epochs; 0 skips (default 10)")
    p.add_argument("--unfreeze", help="fine-tuning: none, all, N (top N layers) or a layer name")
    p.add_argument("--augment", help="preset none|light|medium|heavy, or a JSON file")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="head-phase learning rate (fine-tuning uses 1/10)")
    p.add_argument("--val-split", type=float, help="validation fraction (default 0.2)")
    p.add_argument("--seed", type=int)
    p.add_argument("--config", help="a config JSON (a run's config.json works); flags override it")
    p.add_argument("--strategy", choices=["auto", "default", "one-device", "mirrored", "multi-worker"],
                   help="auto (default): the GPU, or every local GPU when there are several; multi-worker: "
                   "train across machines described by the TF_CONFIG environment variable "
                   "(run the same command on each; see README)")
    p.add_argument("--mixed-precision", choices=["auto", "on", "off"],
                   help="float16 compute (auto: on a GPU only)")
    p.add_argument("--xla", choices=["auto", "on", "off"], help="XLA compilation (auto: GPU only)")
    p.add_argument("--out", help="run folder to create (default runs/<time>-<backbone>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped or killed run")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace):
    """The StudioConfig these flags describe (on top of --config when given)."""
    from core.data.augment import load_augment_file, preset_config
    from core.config import FreezeConfig, StudioConfig
    from core.errors import ConfigError

    cfg = StudioConfig.load(args.config) if args.config else StudioConfig()
    if not args.config and args.augment is None:
        cfg.augment = preset_config("light")
    if args.data_dir:
        cfg.data.data_dir = args.data_dir
    if args.backbone:
        cfg.model.backbone = args.backbone
    if args.weights:
        cfg.model.weights = args.weights
    if args.image_size is not None:
        cfg.model.image_size = args.image_size
    if args.epochs is not None:
        cfg.train.epochs = args.epochs
    if args.fine_tune_epochs is not None:
        cfg.train.fine_tune_epochs = args.fine_tune_epochs
    if args.unfreeze:
        cfg.model.freeze = FreezeConfig.parse(args.unfreeze)
    if args.augment:
        if args.augment.lower().endswith(".json"):
            cfg.augment = load_augment_file(args.augment)
        else:
            cfg.augment = preset_config(args.augment.lower())
    if args.batch_size is not None:
        cfg.train.batch_size = args.batch_size
    if args.lr is not None:
        cfg.train.learning_rate = args.lr
        cfg.train.fine_tune_learning_rate = args.lr / 10
    if args.val_split is not None:
        cfg.data.val_split = args.val_split
    if args.seed is not None:
        cfg.data.seed = cfg.train.seed = args.seed
    if args.strategy:
        cfg.train.strategy = args.strategy
    if args.mixed_precision:
        cfg.train.mixed_precision = args.mixed_precision
    if args.xla:
        cfg.train.xla = args.xla
    if not cfg.data.data_dir:
        raise ConfigError("give DATA_DIR (a folder with one sub-folder per class), or --resume RUN_DIR")
    return cfg.validate()


def run(args: argparse.Namespace) -> int:
    from core.cli.console import ConsoleListener
    from core.events import CancelToken

    listener = ConsoleListener()
    cancel = CancelToken()
    from core.train.engine import resume_training, train

    try:
        if args.resume:
            result = resume_training(args.resume, listener=listener, cancel=cancel)
        else:
            cfg = config_from_args(args)
            result = train(cfg, args.out, listener=listener, cancel=cancel)
    except KeyboardInterrupt:
        print("\ninterrupted: continue with 'python main.py train --resume RUN_DIR'", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(f"run folder: {result.run_dir}"
              + ("" if Path(result.run_dir).exists() else " (written by the chief worker)"))
        if result.metrics:
            print(result.metrics.to_text())
    return 0
