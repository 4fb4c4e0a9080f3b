"""How a settings file of an older version becomes the current one.

Each entry of :data:`MIGRATIONS` turns a dict of version N into version N+1; files
are migrated as read (configs, project files, run folders), never rewritten in place.
"""

from __future__ import annotations

import typing

from core.config_fields import iter_fields
from core.errors import ConfigError

#: The version this release writes (``StudioConfig.version``).
CONFIG_VERSION = 2


def _v1_to_v2(data: dict, schema) -> dict:
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
    return _into_bounds(data, schema)


def _into_bounds(data: dict, schema) -> dict:
    """Numbers version 1 allowed over version 2's upper bounds (a patience of 200, 1500
    epochs, dropout 0.95: version 1 had few upper bounds) moved down to them, so a project,
    config or run folder of version 1 still opens (it was refused whole).  Its lower
    bounds were version 2's: a value under them was refused then and is refused now."""
    for info in iter_fields(schema):
        *parents, last = info.path.split(".")
        node = data
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        value = node.get(last) if isinstance(node, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and info.hi is not None and value > info.hi and info.problem(value) \
                and not info.problem(info.hi):
            node[last] = info.hi
    return data


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
MIGRATIONS: dict[int, typing.Callable[[dict, type], dict]] = {1: _v1_to_v2}


def migrate(data: dict, source: str, schema: type) -> dict:
    """``data`` (a config's dict, from ``source``) at the current version of ``schema``."""
    version = file_version(data, source, "config", CONFIG_VERSION)
    while version < CONFIG_VERSION:
        if version not in MIGRATIONS:
            raise ConfigError(f"{source}: config version {version} is not supported")
        data = MIGRATIONS[version](data, schema)
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
        raise ConfigError(f"{source}: 'version' must be a whole number")
    if version > current:
        raise ConfigError(f"{source}: written by a newer Fine-Tune Studio ({kind} version "
                          f"{version}, this one reads up to {current}); update the app")
    if version < 1:
        raise ConfigError(f"{source}: {kind} version {version} is not supported")
    return version
