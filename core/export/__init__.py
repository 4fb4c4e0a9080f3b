"""Exporting a model to deployment formats and checking each one's answers."""
