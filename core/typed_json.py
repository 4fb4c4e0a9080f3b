"""Typed JSON: dataclasses to plain JSON values and back, checked field by field.

The configuration, project files and the run folder's records (run.json,
checkpoint/state.json) are dataclasses saved as JSON.  Reading one back goes
through :func:`from_jsonable`, which rejects unknown keys and wrong types with
the dotted path of the offending field ("config.json.train.epochs: expected a
whole number, got 'ten'"), so a hand-edited or damaged file gets a message a
person can act on instead of a crash somewhere later.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import stat
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from core.errors import ConfigError

_SURROGATE = re.compile("[\udc80-\udcff]")


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _kind(value: Any) -> str:
    """A JSON value's kind in a user's words ("object" and "int" are a programmer's)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"the number {value!r}"[:40]
    return {str: "text", list: "a list [...]", dict: "a section {...}"}.get(type(value),
                                                                           repr(value))


def _missing(tp: type, value: dict) -> str:
    """The first entry of the dataclass ``tp`` that has no default and is not in ``value``,
    in words ('a "name" (an albumentations transform...)'); "" when none is missing.  It
    read "TransformConfig.__init__() missing 1 required positional argument: 'name'"."""
    for f in dataclasses.fields(tp):
        if f.name not in value and f.default is dataclasses.MISSING \
                and f.default_factory is dataclasses.MISSING:
            what = f.metadata.get("what", "")
            return f'a "{f.name}"' + (f" ({what})" if what else "")
    return ""


def from_jsonable(tp: Any, value: Any, where: str) -> Any:
    """``value`` read as ``tp``; ConfigError naming the setting (``where``: its dotted path,
    "" for the whole file; the caller names the file: it had been glued on, so the setting
    read as a file "cfg.json.train.epochs")."""
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where or 'the file'} must be a section {{...}} of settings, "
                              f"not {_kind(value)}")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r} in {where or 'the file'} "
                              f"(known: {', '.join(sorted(names))})")
        needed = _missing(tp, value)
        if needed:
            raise ConfigError(f"{where or 'the file'} needs {needed}")
        kwargs = {k: from_jsonable(hints[k], v, f"{where}.{k}" if where else k)
                  for k, v in value.items()}
        try:
            return tp(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"{where or 'the file'}: {exc}") from None
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where} must be one of {', '.join(map(repr, allowed))}, not "
                              f"{value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list [...], not {_kind(value)}")
        (item,) = get_args(tp) or (Any,)
        return [from_jsonable(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a section {{...}}, not {_kind(value)}")
        return dict(value)
    if origin is typing.Union:
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return from_jsonable(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where} has an invalid value")
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number (such as 10), not {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number (such as 0.5), not {value!r}")
        if not finite_number(value) and isinstance(value, int):
            raise ConfigError(f"{where}: {str(value)[:20]}... is too large to be a number here")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text in quotes, not {value!r}")
        return value
    return value


def json_safe(obj: Any) -> Any:
    """A copy that strict JSON can hold: NaN and infinities become None (``null``; Python's
    ``NaN`` is not JSON, and jq or a browser refuses the whole document), numpy scalars
    plain numbers, paths text."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "dtype") and getattr(obj, "shape", None) == ():  # a numpy scalar
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


def json_text(value: Any, indent: int = 2, strict: bool = False) -> str:
    """Indented JSON that keeps names readable (no \\u escapes for accented letters) and
    stays valid when a file name's bytes are not UTF-8 (Python keeps those as lone
    surrogates, which a UTF-8 stream cannot carry): they are written as JSON escapes.

    ``strict``: standard JSON for other programs (:func:`json_safe`: NaN and infinities
    as null), as every ``--json`` output of the CLI is written.  The app's own files keep
    Python's NaN/Infinity, which it reads back as numbers (a diverged run's best score
    of -inf must stay a number for --resume).
    """
    if strict:
        value = json_safe(value)
    text = json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=not strict)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def finite_number(value: Any) -> bool:
    """Whether ``value`` is a JSON number that fits a float and is finite (10**400 is not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


#: The JSON parser's words, said as what to look for in the file (its "Expecting ','
#: delimiter" or "Invalid \\escape" told a person who edits a settings file nothing; a
#: Windows path written with single backslashes is the commonest mistake of all).
JSON_MISTAKES = (
    ("Expecting ',' delimiter", "a comma, or a closing ] or }, is missing"),
    ("Expecting ':' delimiter", "a colon is missing after a name"),
    ("Expecting property name enclosed in double quotes",
     "a name is not in double quotes, or a comma comes before a closing }"),
    ("Expecting value", "a value is missing or misspelt (text goes in double quotes, and "
                        "true, false and null in small letters)"),
    ("Unterminated string", "a text in double quotes is not closed"),
    ("Invalid control character", "a line break or tab inside double quotes"),
    ("Invalid \\uXXXX escape", "a \\u in double quotes not followed by four hex digits"),
    ("Invalid \\escape", "a single backslash in double quotes: write a path with / or \\\\"),
    ("Extra data", "something follows the end of the JSON"),
)


def json_mistake(exc: json.JSONDecodeError) -> str:
    """Where a text is not valid JSON and what to look for there, in plain words:
    "at line 3, column 5: a comma is missing"."""
    if not exc.doc.strip("\ufeff \t\r\n"):
        return "at line 1: there is nothing in it"
    what = next((words for start, words in JSON_MISTAKES if exc.msg.startswith(start)),
                exc.msg.removesuffix(" at"))  # "Unterminated string starting at at line 15"
    return f"at line {exc.lineno}, column {exc.colno}: {what}"


def parse_json(text: str, source: str, kind: str, damaged: str) -> Any:
    """Parse a hand-editable JSON text (a config, a project, an augmentation file).

    A key given twice in one object is refused: JSON readers keep the last, so a
    second "train" section silently replaced the first.  A byte-order mark is
    skipped.  Every problem is a ConfigError naming ``source``; ``damaged`` says
    what to do about a file that is not JSON.
    """
    a_kind = with_article(kind)
    try:
        return json.loads(text.lstrip("\ufeff"), object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise ConfigError(f"{source}: {exc.key!r} is given twice in one object (only one "
                          "would count); keep one") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not valid JSON {json_mistake(exc)}; {damaged}") from None
    except RecursionError:  # "[[[[..." deeper than Python's stack
        raise ConfigError(f"{source}: not valid JSON (nested too deeply to be {a_kind}); "
                          f"{damaged}") from None
    except ValueError:  # a number of over 4300 digits (Python's limit): a bare error, whose
        # words advised sys.set_int_max_str_digits() to the user
        raise ConfigError(f"{source}: holds a number too long to read (over 4300 digits); "
                          f"{damaged}") from None


def with_article(word: str) -> str:
    """``word`` after "a" or "an" ("an augmentation", "a config")."""
    return ("an " if word[:1].lower() in ("a", "e", "i", "o", "u") else "a ") + word


#: The largest settings, project or augmentation file read: they are a few KB.
MAX_JSON_BYTES = 16 * 2**20


def load_json_file(path: Path, kind: str, damaged: str) -> Any:
    """Read ``path`` (a ``kind`` file) as :func:`parse_json` does: UTF-8, with or without
    the byte-order mark Windows editors write; other encodings are named, not guessed.
    Anything over :data:`MAX_JSON_BYTES` is refused unread (a 1 GB file given as a project
    took 12 s and 2 GB on the window's thread before "not valid JSON")."""
    a_kind = with_article(kind)  # "a augmentation file"
    try:
        st = path.stat()  # one look for its size and its kind
        if st.st_size > MAX_JSON_BYTES:
            raise ConfigError(f"{path}: {st.st_size / 2**20:.0f} MB is far too big for {a_kind} "
                              f"file (at most {MAX_JSON_BYTES // 2**20} MB); choose the right file")
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):  # reading would block
            raise ConfigError(f"{path}: not a regular file; give {a_kind} file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {kind} file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not {a_kind} file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {kind} file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if b"\0" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            # a picture or an archive was told "save it as UTF-8" (a review); UTF-16 text
            # (its byte-order mark first) is text to save again
            raise ConfigError(f"{path}: not a text file (binary data, such as a picture, an "
                              f"archive or a model); give {a_kind} file") from None
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at position "
                          f"{exc.start}); save it as UTF-8") from None
    return parse_json(text, str(path), kind, damaged)
