"""Step 4, training: the settings form, the run panel with live curves, Start/Stop/Resume."""
