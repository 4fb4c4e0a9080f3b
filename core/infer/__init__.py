"""Predicting with any saved model, evaluating on a folder, classification metrics."""
