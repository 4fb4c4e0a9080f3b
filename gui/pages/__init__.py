"""One module per step of the workflow; the main window lists them in order."""
