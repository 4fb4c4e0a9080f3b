"""The desktop app (PySide6).  Only drives ``core``; holds no ML logic."""
