"""Plain-albumentations files: export a config for ``A.load``, import one back.

People share pipelines as the JSON ``A.save`` writes; importing one gives a
``custom`` config the Augment page can edit, and exporting writes a file any
albumentations user can load without this app.  A file is data from someone
else, so each transform goes through the same checks as a hand-made config
(:func:`core.data.augment.transform_class`): ``Lambda`` and parameters that
take a function are refused with the file and the transform named.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np

from core.albumentations_json import is_albumentations_file
from core.config import AugmentConfig, StudioConfig, TransformConfig
from core.data.augment import OWN_PARAMS, build_compose, code_params, transform_class
from core.errors import ConfigError
from core.fsutil import atomic_write_text
from core.typed_json import load_json_file


def to_albumentations_dict(cfg: AugmentConfig, image_size: int) -> dict:
    """``A.to_dict`` of the pipeline (enabled transforms + final resize)."""
    return A.to_dict(build_compose(cfg, image_size))


def save_albumentations(cfg: AugmentConfig, image_size: int, path: str | Path) -> None:
    """Write a file ``A.load(path)`` reads (JSON, the format ``A.save`` writes)."""
    text = json.dumps(to_albumentations_dict(cfg, image_size), indent=2) + "\n"
    atomic_write_text(path, text)


def load_augment_file(path: str | Path) -> AugmentConfig:
    """Read our AugmentConfig JSON, a whole Studio config, or an ``A.save`` file; every
    transform is checked here, so a problem names the file (a misspelt "Blurrr" was found
    only when training began, as "augment.transforms[0]: ...", with no file named)."""
    cfg = _read_augment_file(Path(path))
    try:
        build_compose(cfg, CHECK_SIZE)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return cfg


#: The image size transforms are checked at when a file is read (any size shows a bad name
#: or range; the run's own size is checked again when training starts).
CHECK_SIZE = 224


def _read_augment_file(path: Path) -> AugmentConfig:
    data = load_json_file(path, "augmentation", "only JSON augmentation files are supported "
                                                "(A.save(..., data_format='json'))")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    if is_albumentations_file(data):
        try:
            return from_albumentations_dict(data, str(path))
        except ConfigError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # A hand-edited A.save file: "p": "x", "transforms": "oops", ...
            raise ConfigError(f"{path}: not an albumentations pipeline this app can read "
                              f"({type(exc).__name__}: {exc}); check the file's values, or "
                              "save it again with A.save(..., data_format='json')") from None
    if data.get("format") == "fine-tune-studio-project":  # core.project.PROJECT_FORMAT
        from core.project import load_settings  # its config, migrated as the window reads it

        return load_settings(path).augment
    if "augment" in data:  # a whole Studio config
        return StudioConfig.from_dict({"augment": data["augment"]}, str(path)).augment
    return StudioConfig.from_dict({"augment": data}, str(path)).augment


# Serialised keys that only matter for masks/boxes, never for a classifier's image.
_MASK_KEYS = {"mask_interpolation", "fill_mask"}


#: Settings albumentations leaves at None, meaning a value it takes elsewhere: Affine's
#: translate_percent None shifts by translate_px, (0, 0) unless given, so no shift at all.
_NONE_MEANS = {("Affine", "translate_percent"): [0.0, 0.0]}


def library_default(name: str, key: str, fallback: Any) -> Any:
    """What albumentations itself gives transform ``name``'s ``key`` when a setting leaves it
    out (``fallback`` when it has none): training runs with that, so the Augment page must
    show it.  It showed the catalogue's default instead (an imported ``Rotate(limit=90)``,
    written without its default-valued arguments, read "-15 to 15")."""
    import warnings

    cls = getattr(A, name, None)
    try:  # as the transform reads it: Affine's rotate=0.0 is (0.0, 0.0) there
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = getattr(cls(), key)
    except Exception:  # needs arguments (a crop's size), or keeps no such attribute
        try:
            param = inspect.signature(cls.__init__).parameters.get(key) if cls else None
        except (TypeError, ValueError):
            param = None
        value = None if param is None or param.default is inspect.Parameter.empty \
            else param.default
    if isinstance(value, dict) and set(value) == {"x", "y"} and value["x"] == value["y"]:
        value = value["x"]  # Affine keeps a range per axis: one range when they agree
    if isinstance(value, tuple):
        value = list(value)
    if value is None:
        value = _NONE_MEANS.get((name, key))
    return fallback if value is None or isinstance(value, dict) else value


def from_albumentations_dict(data: dict, source: str = "albumentations file") -> AugmentConfig:
    """Map an ``A.to_dict`` result back to an AugmentConfig (preset ``custom``).

    Arguments equal to the albumentations default are dropped so the config
    stays readable; the trailing square ``Resize`` our export adds is dropped
    because :func:`build_compose` adds it again for the chosen image size.
    """
    top = data.get("transform", {})
    kind = str(top.get("__class_fullname__", "")).rsplit(".", 1)[-1]
    if kind not in ("Compose", "Sequential"):
        raise ConfigError(f"{source}: top level is {kind or 'missing'}; expected Compose")
    if float(top.get("p", 1.0)) != 1.0:
        raise ConfigError(f"{source}: a Compose with p={top.get('p')} (skipping the whole "
                          "pipeline at random) is not supported; set p to 1")
    items = list(top.get("transforms", []))
    if items and _is_square_resize(items[-1]):
        items = items[:-1]
    out = []
    for i, item in enumerate(items):
        where = f"{source}: transforms[{i}]"
        item = dict(item)
        name = str(item.pop("__class_fullname__", "")).rsplit(".", 1)[-1]
        if "transforms" in item:
            raise ConfigError(f"{where}: nested {name} is not supported; list the transforms "
                              "directly in the top-level Compose")
        cls = transform_class(name, where)
        p = float(item.pop("p", 0.5))
        item.pop("always_apply", None)
        defaults = {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items()}
        params = {}
        code = code_params(cls)
        for key, value in item.items():
            if key in _MASK_KEYS or key in OWN_PARAMS.get(name, ()):
                continue
            if key not in defaults or (key in code and value is None):
                continue  # A.save also writes derived state (PadIfNeeded's "padding") and
                # unset hooks as null (Equalize's "mask"): A.load gives neither to the class
            if key in code:
                raise ConfigError(f"{where} ({name}).{key}: this parameter takes a Python "
                                  "function, which an augmentation file may not carry; remove it")
            if isinstance(value, dict) and set(value) == {"x", "y"} and \
                    _json_eq(value["x"], value["y"]):
                value = value["x"]  # Affine stores a shared range per axis
            if key in defaults and _json_eq(value, defaults[key]):
                continue
            params[key] = _to_json(value)
        out.append(TransformConfig(name=name, enabled=True, p=p, params=params))
    return AugmentConfig(preset="custom", transforms=out, seed=0)


def _is_square_resize(item: dict) -> bool:
    name = str(item.get("__class_fullname__", "")).rsplit(".", 1)[-1]
    return name == "Resize" and item.get("height") == item.get("width") and \
        float(item.get("p", 1.0)) == 1.0


def _to_json(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _numbers_as_float(value: Any) -> Any:
    if isinstance(value, list):
        return [_numbers_as_float(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers_as_float(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _json_eq(a: Any, b: Any) -> bool:
    """Equal as JSON values, where 0 and 0.0 count as the same."""
    if b is inspect.Parameter.empty:
        return False
    return json.dumps(_numbers_as_float(_to_json(a)), sort_keys=True) == \
        json.dumps(_numbers_as_float(_to_json(b)), sort_keys=True)
