"""Widgets used by two or more pages (a widget only one page uses lives in that page's package)."""
