"""Reusable widgets shared by pages."""
