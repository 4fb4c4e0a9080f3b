"""Typed, versioned JSON records of a run folder: ``run.json`` and ``checkpoint/state.json``.

A run folder outlives the app that wrote it: a user resumes a run after an
update, copies runs between machines with different versions, or opens a run
a newer release wrote.  So every record is a dataclass with a ``version`` and
is read through :meth:`Record.from_dict`, which

* treats a file without ``version`` as version 1 (what releases before
  versioning wrote) and brings older versions up to date through
  ``MIGRATIONS`` (``{old version: function(dict) -> dict of the next version}``);
* refuses a file from a newer version, or one with fields this version does not
  know, with "written by a newer Fine-Tune Studio" (guessing at its meaning
  could resume a run wrongly);
* checks every field's type and names the file and the field when one is wrong.

:class:`RunStatus` is the life of a run, stored in ``run.json`` as its string value.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Optional

from core.errors import UserError
from core.typed_json import json_mistake, json_text


class RunStatus(enum.StrEnum):
    """Where a run is in its life; the string value is what ``run.json`` stores."""

    CREATED = "created"  # the folder is written, training has not begun
    RUNNING = "running"  # training (or killed while training: resumable)
    STOPPED = "stopped"  # stopped by the user; resumable
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def resumable(self) -> bool:
        """A run ``train --resume`` may continue (it has not completed)."""
        return self is not RunStatus.COMPLETED


class NewerVersionError(UserError):
    """A record written by a newer release: never guessed at, never rebuilt over."""


class Record:
    """Base of the run folder's JSON records (subclasses are dataclasses with ``version``)."""

    VERSION: ClassVar[int] = 1
    #: ``{v: f}``: ``f`` turns a version-``v`` dict into a version ``v + 1`` dict.
    MIGRATIONS: ClassVar[dict[int, Callable[[dict], dict]]] = {}

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)  # type: ignore[call-overload]
        data["version"] = self.VERSION
        return {k: v.value if isinstance(v, enum.Enum) else v for k, v in data.items()}

    def to_json(self) -> str:
        return json_text(self.to_dict(), indent=1) + "\n"

    @classmethod
    def read(cls, path: str | Path):
        """The record in ``path``; a :class:`UserError` naming the file when it cannot be used."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"{path}: missing; is {path.parent} a Fine-Tune Studio run "
                            "folder?") from None
        except OSError as exc:
            raise UserError(f"{path}: cannot be read ({exc.strerror or exc}); make it "
                            "readable") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:  # the parser's "(char 26)" told a user nothing
            raise UserError(f"{path}: damaged (not valid JSON {json_mistake(exc)}); "
                            f"{cls.repair_text(path)}") from None
        except ValueError:
            raise UserError(f"{path}: damaged (not valid JSON); {cls.repair_text(path)}") \
                from None
        return cls.from_dict(data, path)

    @classmethod
    def repair_text(cls, path: Path) -> str:
        """What to do about a damaged file of this kind (a record the app can make again
        says how)."""
        return "restore it from a backup, or start a new run"

    @classmethod
    def from_dict(cls, data: Any, source: str | Path):
        """Validate, migrate and convert ``data`` (read from ``source``, named in errors)."""
        if not isinstance(data, dict):
            raise UserError(f"{source}: expected a JSON object, found {_json_type(data)}")
        data = dict(data)
        version = data.get("version", 1)  # files from before versioning are version 1
        if type(version) is not int or version < 1:
            raise UserError(f"{source}: field 'version' should be a whole number >= 1, "
                            f"not {version!r}")
        if version > cls.VERSION:
            raise NewerVersionError(
                f"{source}: written by a newer Fine-Tune Studio (format version {version}; this "
                f"one reads up to {cls.VERSION}); update the app")
        while version < cls.VERSION:
            data = cls.MIGRATIONS[version](data)
            version += 1
        data["version"] = version
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise NewerVersionError(f"{source}: unknown field(s) {', '.join(unknown)}: written by a "
                                    "newer Fine-Tune Studio; update the app")
        values = {name: _checked(value, hints[name], source, name) for name, value in data.items()}
        return cls(**values)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            int: "a number", float: "a number", type(None): "null"}.get(type(value),
                                                                         type(value).__name__)


def _describe(hint: Any, plural: bool = False) -> str:
    """``hint`` in words for an error message ("a whole number", "a list of strings")."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [_describe(a, plural) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in hint)
    if origin is list or hint is list:
        return ("lists" if plural else "a list") + (f" of {_describe(args[0], True)}" if args
                                                    else "")
    words = {int: ("a whole number", "whole numbers"), float: ("a number", "numbers"),
             str: ("a string", "strings"), bool: ("true or false", "true/false values"),
             dict: ("an object", "objects")}.get(origin or hint)
    return words[plural] if words else str(hint)


def _checked(value: Any, hint: Any, source, name: str) -> Any:
    """``value`` converted to ``hint`` (int -> float, str -> enum), or a UserError."""
    ok, converted = _convert(value, hint)
    if not ok:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise UserError(f"{source}: field '{name}' should be {_describe(hint)}, not "
                        f"{_json_type(value)} ({shown})")
    return converted


def _convert(value: Any, hint: Any) -> tuple[bool, Any]:
    if hint is Any:
        return True, value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            ok, converted = _convert(value, option)
            if ok:
                return True, converted
        return False, value
    if hint is type(None):
        return value is None, value
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return True, hint(value)
        except ValueError:
            return False, value
    if hint is bool:
        return isinstance(value, bool), value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return number and isinstance(value, int), value
    if hint is float:  # JSON has one number type: 3 is a fine 3.0
        return number, float(value) if number else value
    if hint is str:
        return isinstance(value, str), value
    if hint is dict or origin is dict:
        return isinstance(value, dict), value
    if hint is list or origin is list:
        if not isinstance(value, list):
            return False, value
        if not args:
            return True, list(value)
        items = [_convert(v, args[0]) for v in value]
        return all(ok for ok, _ in items), [v for _, v in items]
    return isinstance(value, hint), value


@dataclass
class RunInfo(Record):
    """``run.json``: what happened to a run (status, device, times, data, outcome)."""

    version: int = 1
    status: Optional[RunStatus] = None
    app_version: Optional[str] = None
    created: Optional[float] = None
    started: Optional[float] = None
    finished: Optional[float] = None
    data_dir: Optional[str] = None
    data_moved_from: Optional[str] = None  # the data folder before 'train --resume --data'
    images: Optional[int] = None
    classes: list[str] = field(default_factory=list)
    dataset_fingerprint: Optional[str] = None
    device: dict = field(default_factory=dict)  # DeviceInfo.to_dict() of the last session
    replicas: Optional[int] = None
    workers: Optional[int] = None
    global_batch: Optional[int] = None
    best_epoch: Optional[int] = None  # global epoch of the best weights
    seconds: Optional[float] = None  # training time over all sessions
    weights_digest: Optional[str] = None
    val_accuracy: Optional[float] = None
    settings: dict = field(default_factory=dict)  # config.json as the app last wrote it
