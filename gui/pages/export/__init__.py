"""Step 8, export: the settings and the Export button, and the per-format report table."""
