"""Step 6, prediction: drop images, read the cards and the table, Grad-CAM, CSV."""
