"""The classifier: backbone catalog, weights files, building the model, BatchNorm folding."""
