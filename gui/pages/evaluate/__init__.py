"""Step 5, evaluation: metrics, a clickable confusion matrix and the images behind each cell."""
