"""Step 3, augmentation: presets, one control group per transform, live previews."""
