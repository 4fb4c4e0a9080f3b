"""How a settings file of an older version becomes the current one.

Each entry of :data:`MIGRATIONS` turns a dict of version N into version N+1; files
are migrated as read (configs, project files, run folders), never rewritten in place.
A new setting, choice or wider limit is a new version (tests/test_config_versions.py
holds each version's layout): an app reads its own version strictly, so it took a newer
file with the same number for a damaged one ("unknown setting ...; fix it there").
"""

from __future__ import annotations

import typing

from core.config_fields import get_path, iter_fields
from core.errors import ConfigError

#: The version this release writes (``StudioConfig.version``).
CONFIG_VERSION = 2

#: The advice for a setting of the wrong kind in a file (a run folder says more).
FIX_THERE = "fix it there"


def _v1_to_v2(data: dict, schema, lowered: list) -> dict:
    """Version 2 has one learning-rate rule: fine_tune_learning_rate 0 means "a tenth of
    learning_rate".  A version-1 file that stored exactly that tenth becomes 0 (so a later
    change of the head's rate carries over, as it does everywhere now); any other value is
    kept as the user's explicit choice."""
    train = data.get("train")
    if isinstance(train, dict):
        lr, ft = train.get("learning_rate", 1e-3), train.get("fine_tune_learning_rate", 1e-4)
        if isinstance(lr, (int, float)) and isinstance(ft, (int, float)) \
                and abs(ft - lr / 10) <= 1e-9 * max(abs(lr), 1e-12):
            train["fine_tune_learning_rate"] = 0.0
        else:  # written out: version 1's default (1e-4) is not version 2's (a tenth)
            train["fine_tune_learning_rate"] = ft
    return _into_bounds(data, schema, lowered)


def _into_bounds(data: dict, schema, lowered: list) -> dict:
    """Numbers version 1 allowed over version 2's upper bounds (a patience of 200, 1500
    epochs, dropout 0.95: version 1 had few upper bounds) moved down to them, so a project,
    config or run folder of version 1 still opens (it was refused whole).  Its lower
    bounds were version 2's but for the learning rates, which version 1 took above 0 (a
    ``--lr 1e-8`` file was refused, a review): a positive number under a positive lower
    bound moves up to it; any other value under its bound was refused then and is now.
    Each number moved goes into ``lowered`` as (setting, old, new), for the file's reader
    to say once (:func:`lowered_text`): the window showed the lowered values as the file's
    and a resumed run trained on a lower patience, without a word."""
    for info in iter_fields(schema):
        *parents, last = info.path.split(".")
        node = data
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        value = node.get(last) if isinstance(node, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) \
                or not info.problem(value):
            continue
        if info.hi is not None and value > info.hi and not info.problem(info.hi):
            node[last] = info.hi
            lowered.append((info.path, value, info.hi))
        elif info.lo is not None and 0 < value < info.lo and not info.problem(info.lo):
            node[last] = info.lo
            lowered.append((info.path, value, info.lo))
    return data


def lowered_text(source: str, lowered: list) -> str:
    """``source``'s numbers moved into this version's limits, in one sentence ("" when
    none): the window shows it, the command line prints it, a resume logs it."""
    if not lowered:
        return ""
    said = ", ".join(f"{path} {old:g} is now {new:g}" for path, old, new in lowered)
    if all(new < old for _, old, new in lowered):
        return (f"{source}: written by an older version, whose limits were higher; {said} (the "
                "upper limits of this version)")
    return (f"{source}: written by an older version, whose limits were wider; {said} (the "
            "limits of this version)")


def note_left(cfg) -> str:
    """:func:`lowered_text` of the numbers ``cfg`` still has as lowered: a flag given for one
    (``train --config OLD.json --epochs 5``) makes that one's "1500 is now 1000" untrue."""
    source, lowered = cfg.migration_lowered or ("", [])
    return lowered_text(source, [(path, old, new) for path, old, new in lowered
                                 if get_path(cfg, path) == new])


#: What a run did before a setting existed, where that is not the setting's default now.
#: A run folder's config.json is written whole, so a key it lacks is older than the
#: setting: its report, the Runs comparison and a resume must not claim today's default
#: ("Head training: logistic", "Keep near-copies together: on" for runs that had neither).
#: A config the user writes by hand keeps the defaults for what it leaves out.
BEFORE_SETTING = {"train.head_solver": "adam", "data.keep_duplicates_together": False}


def as_run_trained(cfg, raw: dict) -> None:
    """Give ``cfg`` (read from a run folder's ``raw`` config) the behaviour of the settings
    its version did not have yet (:data:`BEFORE_SETTING`)."""
    for path, then in BEFORE_SETTING.items():
        section, name = path.split(".")
        if isinstance(raw.get(section), dict) and name not in raw[section]:
            setattr(getattr(cfg, section), name, then)


# Each entry turns a dict of version N into version N+1.
#: ``schema`` is the current :class:`~core.config.StudioConfig`, for its fields' bounds.
MIGRATIONS: dict[int, typing.Callable[[dict, type, list], dict]] = {1: _v1_to_v2}


def migrate(data: dict, source: str, schema: type, lowered: typing.Optional[list] = None) -> dict:
    """``data`` (a config's dict, from ``source``) at the current version of ``schema``;
    numbers moved into today's bounds are added to ``lowered`` (:func:`_into_bounds`)."""
    version = file_version(data, source, "config", CONFIG_VERSION)
    while version < CONFIG_VERSION:
        if version not in MIGRATIONS:
            raise ConfigError(f"{source}: config version {version} is not supported")
        data = MIGRATIONS[version](data, schema, [] if lowered is None else lowered)
        version += 1
        data["version"] = version
    return data


def file_version(data: dict, source: str, kind: str, current: int) -> int:
    """The ``version`` of a saved file, refused with a clear message when this app cannot read it.

    Shared by configs and project files: a file from a newer release says
    "update the app" instead of failing somewhere inside.
    """
    version = data.get("version", current)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"{source}: 'version' must be a whole number (such as {current}), "
                          f"not {version!r}; {FIX_THERE}")
    if version > current:
        raise ConfigError(f"{source}: written by a newer Fine-Tune Studio ({kind} version "
                          f"{version}, this one reads up to {current}); update the app")
    if version < 1:  # no release wrote it: a hand edit, said as the other ones are
        raise ConfigError(f"{source}: {kind} version {version} is not supported (versions "
                          f"start at 1); {FIX_THERE}")
    return version
