"""The app's engine against the plain Keras transfer-learning recipe, side by side.

    python bench/bench_vs_keras.py [--backbone MobileNetV2] [--size 160] [--per-class 60]
                                   [--recipe-epochs 20 10] [--weights FILE]

Both train on the same generated train folder (5 shape classes, made locally) with the
same backbone and the same weights file, and are scored on the same held-out folder.

* The recipe is the keras.io guide (guides/transfer_learning.py), unchanged in spirit:
  ``image_dataset_from_directory`` (80/20 split), RandomFlip + RandomRotation layers,
  Rescaling to [-1, 1], the frozen base called with ``training=False``, GAP, Dropout(0.2),
  a Dense head; Adam for ``--recipe-epochs[0]`` epochs, then the whole base unfrozen and
  ``--recipe-epochs[1]`` epochs at 1e-5.
* The app runs ``core.train.engine.train`` with its defaults (only data folder, backbone,
  weights and image size given) and is scored through ``core.infer.evaluation.evaluate_folder``.

No ImageNet weights can be downloaded on the development machine, so unless ``--weights``
names a real ImageNet file the shared weights are a random backbone whose BatchNorm
statistics were calibrated on one batch (tests/weights_fixture.py): absolute accuracies are
then lower than with ImageNet, but both contenders get exactly the same starting point.
Prints wall time and held-out accuracy for each, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def make_folders(base: Path, per_class: int, test_per_class: int, size: int):
    from core.data.sample_data import SHAPES, generate_sample_dataset

    train = generate_sample_dataset(base / "train", classes=list(SHAPES), per_class=per_class,
                                    size=size, seed=1, fmt="jpg")
    test = generate_sample_dataset(base / "test", classes=list(SHAPES), per_class=test_per_class,
                                   size=size, seed=2, fmt="jpg")
    return train, test


def build_recipe_model(backbone: str, size: int, weights: str, n_classes: int):
    """The keras.io guide's classifier; returns (model, base) with the base frozen.

    Augmentation layers, Rescaling to [-1, 1], the base called with
    ``training=False``, GAP, Dropout(0.2), a softmax Dense.  Shared with
    bench_speed.py, which times its train step on in-memory tensors.
    """
    import keras
    from keras import layers

    base = getattr(keras.applications, backbone)(weights=weights, input_shape=(size, size, 3),
                                                 include_top=False)
    base.trainable = False
    inputs = keras.Input(shape=(size, size, 3))
    x = layers.RandomFlip("horizontal")(inputs)
    x = layers.RandomRotation(0.1)(x)
    x = layers.Rescaling(scale=1 / 127.5, offset=-1)(x)
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs), base


def run_recipe(train_dir: Path, test_dir: Path, backbone: str, size: int, weights: str,
               epochs: tuple[int, int], batch: int = 32):
    import keras

    t0 = time.perf_counter()
    common = dict(image_size=(size, size), batch_size=batch, label_mode="categorical", seed=1337)
    train_ds = keras.utils.image_dataset_from_directory(train_dir, validation_split=0.2,
                                                        subset="training", **common)
    val_ds = keras.utils.image_dataset_from_directory(train_dir, validation_split=0.2,
                                                      subset="validation", **common)
    test_ds = keras.utils.image_dataset_from_directory(test_dir, shuffle=False, **common)
    n_classes = len(train_ds.class_names)
    train_ds = train_ds.prefetch(4)
    val_ds = val_ds.prefetch(4)
    model, base = build_recipe_model(backbone, size, weights, n_classes)
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    t_head = time.perf_counter()
    model.fit(train_ds, epochs=epochs[0], validation_data=val_ds, verbose=0)
    head_s = time.perf_counter() - t_head
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    t_ft = time.perf_counter()
    if epochs[1]:
        model.fit(train_ds, epochs=epochs[1], validation_data=val_ds, verbose=0)
    ft_s = time.perf_counter() - t_ft
    wall = time.perf_counter() - t0
    _, acc = model.evaluate(test_ds, verbose=0)
    n_train = sum(int(x.shape[0]) for x, _ in train_ds)
    # The model comes back compiled for its fine-tune (bench_speed.py times that train step).
    return dict(wall=wall, accuracy=float(acc), head_s=head_s, ft_s=ft_s, n_train=n_train,
                model=model)


def app_config(train_dir: Path, backbone: str, size: int, weights: str):
    """The app's defaults with only the data folder, backbone, weights and size given."""
    from core.data.augment import preset_config
    from core.config import StudioConfig

    cfg = StudioConfig()
    cfg.data.data_dir = str(train_dir)
    cfg.model.backbone = backbone
    cfg.model.weights = weights
    cfg.model.image_size = size
    cfg.augment = preset_config("light")
    return cfg


def run_app(train_dir: Path, test_dir: Path, backbone: str, size: int, weights: str, out: Path):
    from core.infer.evaluation import evaluate_folder
    from core.infer.loaders import load_predictor
    from core.train.engine import train

    cfg = app_config(train_dir, backbone, size, weights)
    t0 = time.perf_counter()
    result = train(cfg, out)
    wall = time.perf_counter() - t0
    metrics = evaluate_folder(load_predictor(result.run_dir), str(test_dir))
    epochs = len(result.history)
    return dict(wall=wall, accuracy=metrics.accuracy, epochs=epochs,
                best_epoch=result.best_epoch)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbone", default="MobileNetV2")
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--per-class", type=int, default=60)
    ap.add_argument("--test-per-class", type=int, default=30)
    ap.add_argument("--recipe-epochs", type=int, nargs=2, default=(20, 10))
    ap.add_argument("--weights", help="a backbone weights file (default: BN-calibrated random)")
    ap.add_argument("--workdir", help="keep the data and runs here")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="fts-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FTS_DATA_DIR", str(work / "studio-data"))  # keep the user's history
    train_dir, test_dir = make_folders(work / "data", args.per_class, args.test_per_class, 128)
    weights = args.weights
    if not weights:
        from weights_fixture import calibrated_weights

        weights = str(calibrated_weights(args.backbone, args.size,
                                         work / f"{args.backbone}_{args.size}.weights.h5"))
    print(f"data: {work / 'data'} ({args.per_class}/class train, {args.test_per_class}/class "
          f"held out, 5 classes); backbone {args.backbone} at {args.size}px; weights {weights}")
    app = run_app(train_dir, test_dir, args.backbone, args.size, weights, work / "app-run")
    print(f"app    : {app['wall']:7.1f} s  held-out accuracy {app['accuracy']:.3f}  "
          f"({app['epochs']} epochs run, best {app['best_epoch']})", flush=True)
    rec = run_recipe(train_dir, test_dir, args.backbone, args.size, weights,
                     tuple(args.recipe_epochs))
    print(f"recipe : {rec['wall']:7.1f} s  held-out accuracy {rec['accuracy']:.3f}  "
          f"({args.recipe_epochs[0]}+{args.recipe_epochs[1]} epochs; head {rec['head_s']:.1f} s, "
          f"fine-tune {rec['ft_s']:.1f} s)")
    print(f"ratio  : app is {rec['wall'] / app['wall']:.2f}x faster; accuracy "
          f"{app['accuracy'] - rec['accuracy']:+.3f} vs the recipe")
    return 0


if __name__ == "__main__":
    sys.exit(main())
