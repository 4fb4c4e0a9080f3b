"""One package per step of the workflow (one module for a small page); the main window lists them in order."""
