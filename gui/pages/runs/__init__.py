"""Step 10, every run: the index table, details, compare two runs."""
