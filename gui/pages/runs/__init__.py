"""Step 9, every run: the index table, details, compare two runs."""
