"""Reading the user's images: decoding, scanning a folder, splitting, augmenting, feeding batches."""
