"""Errors the user can act on.

A :class:`UserError` means "you asked for something that cannot work": a missing
folder, an unknown backbone, a weights file for another model.  The CLI prints
its message on one line and exits with status 2; the GUI shows it in a dialog.
Anything else is a bug and gets a traceback in the log.
"""

import errno


class UserError(Exception):
    """A mistake the user can fix; the message says what and how."""

    exit_code = 2


class ConfigError(UserError):
    """A configuration value or file that cannot be used."""


class DataError(UserError):
    """A data folder that cannot be used (missing, empty, fewer than 2 classes)."""


class WeightsError(UserError):
    """A weights file that is missing, corrupt, or made for another model."""


class ModelFileError(UserError):
    """A model file that cannot be opened (wrong format, unsafe, corrupt)."""


class DiskFullError(UserError, OSError):
    """A write failed because the disk (or the user's quota) is full; nothing was replaced.

    Also an ``OSError`` (errno ENOSPC), so code that already handles failed
    writes keeps handling this one; the message names the file and says what to do.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errno = errno.ENOSPC
