"""Step 2, the model: backbone table, starting weights, head and the fine-tuning layer tree."""
