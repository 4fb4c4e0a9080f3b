"""Looking inside a CNN: layer shapes by formula, kernels, feature maps, activations, Grad-CAM."""
