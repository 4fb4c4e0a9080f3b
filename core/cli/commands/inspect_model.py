"""``python main.py inspect-model MODEL [--json]``: the layer table of a saved model.

For every layer (inside the nested backbone too): kernel, stride and padding,
input → output shape, parameters, receptive field and what a fully connected
layer would need for the same job; then Keras' parameter totals.  MODEL is a
run folder (its ``model.keras``) or a ``.keras``/``.h5`` file, loaded with
``safe_mode=True`` so a file cannot run code it carries.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.typed_json import json_text

# Plain-ASCII stand-ins for the table's maths signs, for terminals that cannot show them.
_ASCII = {"−": "-", "·": "*", "×": "x", "⌊": "floor(", "⌋": ")", "→": "->", "γ": "gamma",
          "β": "beta", "…": "...", "✓": "ok", "✗": "X"}


def register(sub) -> None:
    p = sub.add_parser("inspect-model",
                       help="list a model's layers: shapes by formula, parameters, receptive field")
    p.add_argument("model", metavar="MODEL", help="a run folder or a .keras / .h5 model file")
    p.add_argument("--json", action="store_true", help="print the full inspection as JSON")
    p.set_defaults(func=run)


def resolve_model_path(text: str) -> Path:
    """The model file MODEL names: a run folder's model, or a .keras/.h5 file."""
    from core.errors import ModelFileError
    from core.infer.loaders import no_model_text
    from core.infer.refusals import images_hint, weights_hint
    from core.runs.folder import RunFolder

    path = Path(text).expanduser()
    if path.is_dir():
        run = RunFolder(path)
        if run.model_path.is_file():
            return run.model_path
        if run.is_run_folder():  # "give a run folder that finished training" of one that had
            raise ModelFileError(no_model_text(run))
        raise ModelFileError(f"{path}: no {run.model_path.name} in this folder; give a run "
                             f"folder that finished training or a .keras/.h5 file"
                             f"{images_hint(path)}")
    if not path.exists():
        raise ModelFileError(f"{path}: no such file or folder")
    hint = weights_hint(path)  # a .weights.h5 leaked Keras' "No model config found"
    if hint:
        raise ModelFileError(f"{path}: a weights file, not a model to inspect{hint}")
    if path.suffix.lower() not in (".keras", ".h5", ".hdf5"):
        raise ModelFileError(f"{path}: not a Keras model file; give a .keras or .h5 file "
                             "or a run folder")
    return path


def _printable(text: str) -> str:
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        for k, v in _ASCII.items():
            text = text.replace(k, v)
        return text.encode("ascii", "replace").decode("ascii")


def run(args) -> int:
    path = resolve_model_path(args.model)
    from core.insight.layers import inspect_layers
    from core.model.model_files import load_model_file

    from core.insight.explorer import NetworkSpec, trained_as

    model = load_model_file(path)  # safe mode, archive checked first
    # A run's model.keras is saved with every layer trainable: its trainable count had been
    # the whole model's (23.5 M where fine-tuning trained 4.46 M, a review); a run's own
    # model gets the flags its last phase trained with, as the Network page gives it.
    phase = trained_as(model, NetworkSpec(kind="file", path=str(path)))
    inspection = inspect_layers(model)
    if args.json:
        print(json_text({**inspection.to_dict(), "trainable_as_in": phase or None}, strict=True))
    else:
        text = inspection.to_text()
        if phase:
            text += f"\n(trainable as the run's {PHASE_WORDS.get(phase, phase)} trained them)"
        print(_printable(text))
    return 0


PHASE_WORDS = {"head": "head phase", "fine_tune": "fine-tuning"}
