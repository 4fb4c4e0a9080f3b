"""Settings that carry their own bounds and help, so every view of them agrees.

A field of the configuration is declared once with :func:`setting`: its default,
its allowed range, a short label and a plain-words help text.  From that one
declaration come ``StudioConfig.validate()``, the window's spin-box ranges and
tooltips, and the command line's help and argument checks (tests compare the
window and the CLI with it), so "learning rate 1e-7..1 in the window, (0, 10)
in the config" cannot happen again.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, Iterator, Literal, Optional, get_args, get_origin

_KEY = "fts"  # the dataclass field metadata entry that holds a FieldInfo's parts


@dataclass(frozen=True)
class FieldInfo:
    """What the app knows about one setting (``path`` is dotted, e.g. ``train.epochs``)."""

    path: str
    type: Any
    default: Any
    label: str = ""
    help: str = ""
    lo: Optional[float] = None
    hi: Optional[float] = None
    step: Optional[float] = None
    decimals: Optional[int] = None
    unit: str = ""
    # A value allowed outside [lo, hi] and what it means, e.g. (0, "the backbone's default").
    special: Optional[tuple] = None

    @property
    def choices(self) -> tuple:
        """The allowed values of a Literal field (empty for numbers and text)."""
        return get_args(self.type) if get_origin(self.type) is Literal else ()

    def bounds_text(self) -> str:
        parts = []
        if self.special is not None:
            parts.append(f"{_fmt(self.special[0])} ({self.special[1]})")
        if self.lo is not None and self.hi is not None:
            parts.append(f"{_fmt(self.lo)} to {_fmt(self.hi)}")
        elif self.lo is not None:
            parts.append(f"{_fmt(self.lo)} or more")
        elif self.hi is not None:
            parts.append(f"at most {_fmt(self.hi)}")
        if self.choices:
            parts.append(", ".join(map(str, self.choices)))
        return " or ".join(parts)

    def problem(self, value: Any) -> str:
        """Why ``value`` is not allowed ("" when it is)."""
        if self.special is not None and value == self.special[0]:
            return ""
        if self.choices:
            return "" if value in self.choices else f"must be one of {self.bounds_text()}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, not {value}"
        if self.lo is None and self.hi is None:
            return ""
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            return f"must be {self.bounds_text()}, not {_fmt(value)}"
        return ""

    def cli_help(self, extra: str = "", purpose: str = "") -> str:
        """The CLI's help for the flag that sets this field: help, range, default.
        ``purpose``: what the flag does in a command that uses the setting otherwise
        (predict's batch size is no training step)."""
        first = purpose or self.help.split("\n")[0].rstrip(".")
        text = first + (f" {extra}" if extra else "")
        rng = self.bounds_text()
        said = f"{text} ({rng}; default {_fmt(self.default)})" if rng else \
            f"{text} (default {_fmt(self.default)})"
        return said.replace("%", "%%")  # argparse formats help with %: "100 % sure" broke it

    def parse(self, text: str) -> Any:
        """Turn a command-line word into a checked value (ValueError says what is wrong)."""
        base = int if self.type is int else float if self.type is float else str
        if self.special is not None and str(self.special[1]).startswith(text.strip().lower() + ":"):
            return self.special[0]  # the special value by its name: "auto"
        try:
            value = base(text)
        except ValueError:
            kind = "a whole number" if base is int else "a number" if base is float else "text"
            raise ValueError(f"{text!r} is not {kind}") from None
        if (base is float and value == 0.0 and self.special is not None
                and self.special[0] == 0.0 and any(c in "123456789" for c in text)):
            raise ValueError(f"{text} is too small to be told from 0 (which means "
                             f"{str(self.special[1]).split(':')[0]}); it must be {self.bounds_text()}")
        why = self.problem(value)
        if why:
            raise ValueError(why)
        return value


def _fmt(v: Any) -> str:
    if isinstance(v, bool):  # a --flag/--no-flag switch: "(default on)", not Python's "True"
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    text = str(v)
    if isinstance(v, int) and len(text) > 20:  # 10**400 in a hand-edited file: not 401 digits
        return f"a number of {len(text.lstrip('-'))} digits"
    return text


def setting(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING,
            label: str = "", help: str = "", lo: Optional[float] = None,
            hi: Optional[float] = None, step: Optional[float] = None,
            decimals: Optional[int] = None, unit: str = "",
            special: Optional[tuple] = None) -> Any:
    """A dataclass field with its label, help and bounds (see :class:`FieldInfo`)."""
    meta = {_KEY: dict(label=label, help=help, lo=lo, hi=hi, step=step, decimals=decimals,
                       unit=unit, special=special)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def iter_fields(cls: type, prefix: str = "") -> Iterator[FieldInfo]:
    """Every leaf setting below the dataclass ``cls``, depth first, in declaration order."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(tp):
            yield from iter_fields(tp, path + ".")
            continue
        meta = f.metadata.get(_KEY, {})
        yield FieldInfo(path=path, type=tp, default=_default(f), **meta)


def field_info(cls: type, path: str) -> FieldInfo:
    """The :class:`FieldInfo` of one dotted setting path below ``cls``."""
    for info in iter_fields(cls):
        if info.path == path:
            return info
    raise KeyError(f"no setting {path!r}")


def get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj
