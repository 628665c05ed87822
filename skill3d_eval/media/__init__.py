"""Turning the visuals rows point at (image bytes, image paths, video paths) into frames, safely:
confined to the dataset's media root (`paths`), size-checked from headers (`limits`), decoded
strictly (`images`, `video`). Import the submodules; this package imports nothing, so reading
the settings does not load the decoders."""
