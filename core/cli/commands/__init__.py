"""One module per ``python main.py`` sub-command (see :mod:`core.cli`)."""
