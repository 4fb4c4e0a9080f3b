"""Command-line flags made from the configuration's own fields.

A flag that sets a setting takes its help text, its allowed range and its
check from the field's declaration (:mod:`core.config_fields`), so
``--batch-size 0`` is refused with the same words the window and a config
file would get, and ``--help`` shows the same range and default.
"""

from __future__ import annotations

import argparse

from core.config import StudioConfig


def checked(path: str):
    """An argparse ``type`` that parses and checks a value of setting ``path``."""
    info = StudioConfig.field(path)

    def parse(text: str):
        try:
            return info.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = path  # argparse names the type in some messages
    return parse


def add_setting(parser: argparse.ArgumentParser, flag: str, path: str, extra: str = "",
                purpose: str = "", **kwargs) -> None:
    """Add ``flag`` for setting ``path``: help, choices and checks come from the config
    (``purpose``: the help's words instead of the setting's, for a command that uses it
    another way)."""
    info = StudioConfig.field(path)
    if info.type is bool:  # --flag / --no-flag; absent: None (the config's value stands)
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                            help=info.cli_help(extra, purpose), **kwargs)
        return
    if info.choices:
        kwargs.setdefault("choices", list(info.choices))
    else:
        kwargs.setdefault("type", checked(path))
    kwargs.setdefault("metavar", "N" if info.type is int else "X" if info.type is float else None)
    if kwargs["metavar"] is None:
        kwargs.pop("metavar")
    parser.add_argument(flag, help=info.cli_help(extra, purpose), **kwargs)
