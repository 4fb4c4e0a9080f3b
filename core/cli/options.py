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


def check_image_size_flag(backbone: str, weights: str, image_size,
                          said_as: str = "--image-size") -> None:
    """``--image-size`` against the backbone's own range, before the data is read.

    Refused once the work began (after the scan), said in the config's words
    ("model.image_size: 32 px ...") for a size the user gave as --image-size (a review).
    An unknown backbone is left to be said, with the list to choose from, where it is used.
    """
    from core.errors import ConfigError, UserError
    from core.model.backbones import get_backbone, resolve_image_size

    try:
        spec = get_backbone(backbone)
    except UserError:
        return
    try:
        resolve_image_size(spec, int(image_size or 0), weights)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("model.image_size:", said_as, 1)) from None
