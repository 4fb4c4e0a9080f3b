"""Run folders (what a training run writes) and the run history index over them."""
