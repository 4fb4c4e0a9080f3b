"""Why a completed run cannot say "unknown", for the Predict page and ``predict``.

Training calibrates a run when it completes, unless it has fewer than
:data:`MIN_IMAGES` validation images; a run whose calibration
files were deleted has none either.  Both were told "a run calibrated after
training has one", which read as though the run had not been trained, and
neither was told what to do (a Predict review): a class-room set of 36 images
with the default 20 % split has 6 validation images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: Fewer readable validation images than this give a temperature and a threshold that are
#: noise (with 10, one image moves the share kept by 10 points): the run stays uncalibrated.
#: Here, not in core.trust.fit (which loads the decoders), so the window can say it.
MIN_IMAGES = 10
#: The words of every message that says so: the Train page's end-of-run banner, which says it
#: in its own words, leaves out the run's log warning that holds them.
TOO_FEW = f"calibration needs at least {MIN_IMAGES}"


@dataclass(frozen=True)
class NotCalibrated:
    """A completed run without calibration: ``val_images`` it has, and whether that is
    too few (else its calibration files are missing)."""

    run_dir: str
    val_images: int

    @property
    def too_few(self) -> bool:
        return self.val_images < MIN_IMAGES

    def text(self, cli: bool = False) -> str:
        """The reason and what to do, for the window or (``cli``) for the terminal."""
        if self.too_few:
            more = ("train again with more images or a larger --val-split" if cli else
                    "train again with more images, or a larger validation share on the "
                    "Data page")
            return (f"this run has {self.val_images} validation image"
                    f"{'s' if self.val_images != 1 else ''} and {TOO_FEW}, so it cannot say “unknown”: every image gets the class it "
                    f"resembles most; {more}")
        return ("this run's calibration files are missing, so it cannot say “unknown”: "
                f"run “python main.py calibrate {self.run_dir}” once")


def not_calibrated(path: Optional[str]) -> Optional[NotCalibrated]:
    """For ``path`` (a run folder, or a file in one) of a completed run with no
    calibration: why; None for anything else (a stopped run is calibrated when it
    completes; an exported model says its own)."""
    from core.errors import UserError
    from core.runs.folder import find_run_folder
    from core.runs.records import RunStatus

    run = find_run_folder(path) if path else None
    if run is None:
        return None
    try:
        if run.run_info().status is not RunStatus.COMPLETED:
            return None
    except (UserError, OSError):  # the Runs page says what is wrong with its files
        return None
    return completed_not_calibrated(run)


def completed_not_calibrated(run) -> Optional[NotCalibrated]:
    """:func:`not_calibrated` for ``run``, a :class:`~core.runs.folder.RunFolder` known to
    have completed (a caller that has read its status already)."""
    from core.errors import UserError

    if run.calibration_path.exists():
        return None
    try:
        return NotCalibrated(str(run.path), len(run.split().val))
    except (UserError, OSError):  # the Runs page says what is wrong with its files
        return None
