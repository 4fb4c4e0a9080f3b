"""Fine-Tune Studio engine: everything that is not the window.

Nothing in this package imports Qt (``tests/test_boundary.py`` proves it), so the
same code serves the desktop app and ``python main.py <command>``.  Heavy
libraries (TensorFlow, albumentations) are imported inside the functions that
need them, so that importing ``core`` stays cheap and the window appears fast.
"""

import os

# albumentations asks pypi.org for a newer version of itself on import: an unannounced network
# call from an app that works offline, 0.6 s on the window's first visit to the Augment page,
# and a library warning before every command behind a proxy that refuses (a review).
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
APP_NAME = "Fine-Tune Studio"
