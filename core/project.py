"""Project files: one JSON file that brings a whole session back.

A project holds the :class:`~core.config.StudioConfig` a user built in the app,
the run folders trained from it, the model last used and the "unknown"
thresholds chosen on the Predict page, so that reopening it restores every
setting.  It is plain data: paths inside are only ever read as
paths (never imported or executed), and everything is validated on load so a
hand-edited or truncated file gives a :class:`~core.errors.ConfigError` that
names the file and the field instead of a crash later.

Paths under the project's own folder are stored relative to it, so a project
folder can be moved or shared as a whole (not when that folder is the home folder,
and never the app's own data folder: see :func:`_relativize`); relative paths are
resolved against the project file's folder on load.  Writes are atomic (``core.fsutil``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from core.albumentations_json import is_albumentations_file
from core.appdirs import data_dir
from core.config import DAMAGED, FIX_THERE, StudioConfig, names_weights_file
from core.config_migrations import file_version
from core.errors import ConfigError
from core.fsutil import atomic_write_text
from core.path_names import is_within, same_path
from core.typed_json import finite_number, json_text, load_json_file

PROJECT_VERSION = 1
PROJECT_SUFFIX = ".ftsproj"
PROJECT_FORMAT = "fine-tune-studio-project"


#: What to do about a project file that cannot be read.
DAMAGED_PROJECT = "the file is damaged - open another project or start a new one"

#: What to open instead of a JSON file that is no project.
OPEN_A_PROJECT = "open a .ftsproj file saved with File → Save project as"


def not_a_project(data: Any) -> str:
    """Why ``data`` (a JSON file's value) is no project, saying what it is when it is one of
    the app's other files and what to do: "not a Fine-Tune Studio project ('format' should
    be ...)" told someone who opened a run's config.json (which `train --config` takes) or
    an albumentations file neither."""
    if is_albumentations_file(data):
        return ("an albumentations file (augmentation only), not a project: open it on the "
                "Augmentation step with Open file…, or " + OPEN_A_PROJECT)
    if isinstance(data, dict) and data and set(data) <= {f.name for f in fields(StudioConfig)}:
        return ("a settings file (a run's config.json or a --config file), not a project: "
                "open the run on the Runs step, train with these settings with 'python "
                "main.py train --config FILE', or " + OPEN_A_PROJECT)
    return f"not a Fine-Tune Studio project ('format' is not {PROJECT_FORMAT!r}); {OPEN_A_PROJECT}"


def is_project_path(path: str) -> bool:
    """Whether ``path`` names a project file by its ending, in any case: ``A.FTSPROJ`` copied
    from a camera card or a Windows share is one too (it was taken for an image folder when
    dropped, and saved as ``A.FTSPROJ.ftsproj``)."""
    return str(path).lower().endswith(PROJECT_SUFFIX)



@dataclass
class Project:
    """What a project file stores."""

    config: StudioConfig = field(default_factory=StudioConfig)
    runs: list[str] = field(default_factory=list)
    last_model: Optional[str] = None
    version: int = PROJECT_VERSION
    #: The "unknown" threshold chosen on the Predict page per model (a run folder or an
    #: exported model; None: the user switched "unknown" off).  The run's calibration.json
    #: gets it too; the project brings back the session's choice.
    unknown_thresholds: dict[str, Optional[float]] = field(default_factory=dict)

    def to_dict(self, base: Optional[Path] = None) -> dict:
        """JSON-ready form; paths under ``base`` are written relative to it."""
        cfg = self.config.to_dict()
        rel = (lambda p: _relativize(p, base)) if base is not None else (lambda p: p)
        cfg["data"]["data_dir"] = rel(cfg["data"]["data_dir"])
        if names_weights_file(cfg["model"]["weights"]):
            cfg["model"]["weights"] = rel(cfg["model"]["weights"])
        cfg["export"]["out_dir"] = rel(cfg["export"]["out_dir"])
        return {
            "format": PROJECT_FORMAT,
            "version": self.version,
            "config": cfg,
            "runs": [rel(r) for r in self.runs],
            "last_model": rel(self.last_model) if self.last_model else self.last_model,
            "unknown_thresholds": {rel(p): v for p, v in self.unknown_thresholds.items()},
        }

    @classmethod
    def from_dict(cls, data: Any, source: str, base: Optional[Path] = None) -> "Project":
        """Validate ``data`` read from ``source``; resolve relative paths against ``base``."""
        if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
            raise ConfigError(f"{source}: {not_a_project(data)}")
        # The version first: a newer release's new entries are no damage, only newer
        version = file_version(data, source, "project", PROJECT_VERSION)
        known = {"format", "version", "config", "runs", "last_model", "unknown_thresholds"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown entry {unknown[0]!r} "
                              f"(known: {', '.join(sorted(known))}); {FIX_THERE}")
        if "config" not in data:
            raise ConfigError(f"{source}: 'config' (the project's settings) is missing; "
                              f"{DAMAGED_PROJECT}")
        if not isinstance(data["config"], dict):  # it said "expected a JSON object at the
            raise ConfigError(f"{source}: 'config' must be a section {{...}} of settings; "
                              f"{FIX_THERE}")  # top level" of a file whose top was fine
        config = StudioConfig.from_dict(data["config"], source=f"{source}: config")
        try:
            config.validate()
        except ConfigError as exc:  # said what to do, as a wrong kind of value does
            raise ConfigError(f"{source}: {exc}; {FIX_THERE}") from None

        runs = data.get("runs", [])
        if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
            raise ConfigError(f"{source}: 'runs' must be a list of folder paths (text); "
                              f"{FIX_THERE}")
        last_model = data.get("last_model")
        if last_model is not None and not isinstance(last_model, str):
            raise ConfigError(f"{source}: 'last_model' must be a file path (text) or null; "
                              f"{FIX_THERE}")
        thresholds = data.get("unknown_thresholds", {})
        if not isinstance(thresholds, dict) or not all(
                v is None or finite_number(v) for v in thresholds.values()):
            raise ConfigError(f"{source}: 'unknown_thresholds' must map model paths to a number "
                              f"or null; {FIX_THERE}")

        res = (lambda p: _resolve(p, base)) if base is not None else (lambda p: p)
        config.data.data_dir = res(config.data.data_dir)
        if names_weights_file(config.model.weights):
            config.model.weights = res(config.model.weights)
        config.export.out_dir = res(config.export.out_dir)
        return cls(config=config, runs=[res(r) for r in runs],
                   last_model=res(last_model) if last_model else last_model, version=version,
                   unknown_thresholds={res(p): None if v is None else float(v)
                                       for p, v in thresholds.items()})


def save_project(project: Project, path: str | Path) -> Path:
    """Write ``project`` to ``path`` atomically; returns the path written."""
    path = Path(path).expanduser().absolute()
    text = json_text(project.to_dict(base=path.parent)) + "\n"
    # Through a link to the file it names (a synced copy): replacing the link itself left
    # the real file without the change.  Paths stay relative to where the user opens it.
    atomic_write_text(Path(os.path.realpath(path)) if path.is_symlink() else path, text)
    return path


def load_project(path: str | Path) -> Project:
    """Read and validate a project file; every problem is a ConfigError naming the file."""
    path = Path(path).expanduser().absolute()
    data = load_json_file(path, "project", DAMAGED_PROJECT)
    return Project.from_dict(data, str(path), base=path.parent)


def load_settings(path: str | Path) -> StudioConfig:
    """A config file, or a project file's settings (paths in it resolved as the window
    resolves them): ``train --config X.ftsproj`` said the project the app wrote had an
    "unknown setting 'config'" and to fix it."""
    inside = Path(path) / "config.json"
    if inside.is_file():  # "is a folder, not a config file" (a review)
        raise ConfigError(f"{path}: a run folder, not a settings file: give its settings, "
                          f"{inside}")
    data = load_json_file(Path(path), "config", DAMAGED)
    if isinstance(data, dict) and data.get("format") == PROJECT_FORMAT:
        return load_project(path).config
    if is_albumentations_file(data):  # A.save's: it
        # said "unknown setting '__version__' in the file ...; fix it there" (a review)
        raise ConfigError(f"{path}: an albumentations file (augmentation only), not a "
                          f"settings file: give it as --augment {path}")
    return StudioConfig.from_dict(data, str(path))


def _relativize(p: str, base: Path) -> str:
    """``p`` relative to ``base`` when it lies inside it (portable project folders).

    Not when ``base`` is the home folder (the file dialog's first suggestion: home is no
    project folder, and a project saved there and later moved into Documents lost its data
    folder and runs), nor for the app's own data folder (its runs stay where the app keeps
    them wherever the project goes)."""
    if not p or "\0" in p:  # a NUL, hand-typed into a project: no file has that name, and
        return p  # os.path.realpath raised ValueError, so the window could not save at all
    path = Path(p)
    if not path.is_absolute() or same_path(base, Path.home()) or \
            is_within(os.path.realpath(path), os.path.realpath(data_dir())):
        return p
    try:
        return path.relative_to(base).as_posix() or "."
    except ValueError:
        return p


def _resolve(p: str, base: Path) -> str:
    """An absolute path for ``p``; relative ones are taken from the project's folder."""
    if not p:
        return p
    path = Path(p).expanduser()
    if path.is_absolute():
        return str(path)
    return os.path.normpath(str(base / path))
