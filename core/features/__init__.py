"""The feature store: backbone embeddings of the user's images, computed once, kept on disk.

Training's fast head, the data audit, the unknown-input check and labelling all
need the pooled backbone features of every image.  :class:`~core.features.store.FeatureStore`
computes them once per file content, backbone, weights and image size and keeps them under
the app's data folder, so a second audit or training pays only for new or changed files.
:mod:`core.features.near_duplicates` groups near-copies from what the store holds.
"""
