"""Fine-Tune Studio engine: everything that is not the window.

Nothing in this package imports Qt (``tests/test_boundary.py`` proves it), so the
same code serves the desktop app and ``python main.py <command>``.  Heavy
libraries (TensorFlow, albumentations) are imported inside the functions that
need them, so that importing ``core`` stays cheap and the window appears fast.
"""

__version__ = "0.1.0"
APP_NAME = "Fine-Tune Studio"
