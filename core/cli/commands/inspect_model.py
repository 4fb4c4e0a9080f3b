"""``python main.py inspect-model MODEL [--json]``: the layer table of a saved model.

For every layer (inside the nested backbone too): kernel, stride and padding,
input → output shape, parameters, receptive field and what a fully connected
layer would need for the same job; then Keras' parameter totals.  MODEL is a
run folder (its ``model.keras``) or a ``.keras``/``.h5`` file, loaded with
``safe_mode=True`` so a file cannot run code it carries.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

# Plain-ASCII stand-ins for the table's maths signs, for terminals that cannot show them.
_ASCII = {"−": "-", "·": "*", "×": "x", "⌊": "floor(", "⌋": ")", "→": "->", "γ": "gamma",
          "β": "beta", "…": "..."}


def register(sub) -> None:
    p = sub.add_parser("inspect-model",
                       help="list a model's layers: shapes by formula, parameters, receptive field")
    p.add_argument("model", metavar="MODEL", help="a run folder or a .keras / .h5 model file")
    p.add_argument("--json", action="store_true", help="print the full inspection as JSON")
    p.set_defaults(func=run)


def resolve_model_path(text: str) -> Path:
    from core.errors import ModelFileError

    path = Path(text).expanduser()
    if path.is_dir():
        candidate = path / "model.keras"
        if not candidate.is_file():
            raise ModelFileError(f"{path}: no model.keras in this folder; give a run folder that "
                                 "finished training or a .keras/.h5 file")
        path = candidate
    elif not path.exists():
        raise ModelFileError(f"{path}: no such file or folder")
    elif path.suffix.lower() not in (".keras", ".h5", ".hdf5"):
        raise ModelFileError(f"{path}: not a Keras model file; give a .keras or .h5 file "
                             "or a run folder")
    # Keras calls a damaged .keras file "File not found"; check here (before TensorFlow
    # loads) and say what is really wrong.
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: cannot open this model (a .keras file is a zip archive "
                             "and this one is damaged or not a model); save or export it again")
    return path


def load_model_safely(path: Path):
    """Load without compiling and without running code stored in the file."""
    import keras

    from core.errors import ModelFileError

    try:
        return keras.saving.load_model(str(path), safe_mode=True, compile=False)
    except Exception as exc:  # any failure here means "this file cannot be opened"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{path}: cannot open this model ({reason[:300]})") from None


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

    model = load_model_safely(path)
    inspection = inspect_layers(model)
    if args.json:
        print(json.dumps(inspection.to_dict(), indent=2))
    else:
        print(_printable(inspection.to_text()))
    return 0
