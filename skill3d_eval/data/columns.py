"""Image columns handed to the task functions undecoded.

`datasets` decodes an `Image` feature on access, and for a row holding `{"bytes": None,
"path": "../../secret.png"}` that means opening whatever the path names, leniently (lmms-eval
has set PIL's `LOAD_TRUNCATED_IMAGES`). Each task's `process_docs` turns its image columns into
plain `{"bytes", "path"}` values, so the only decoder is `media.images`: confined to the task's
image root, size-checked from the header, strict.
"""

from __future__ import annotations

import datasets


def _undecoded(feature):
    if isinstance(feature, datasets.Image):
        return datasets.Image(mode=feature.mode, decode=False)
    if isinstance(feature, datasets.List):
        inner = _undecoded(feature.feature)
        return None if inner is None else datasets.List(inner, length=feature.length)
    if isinstance(feature, datasets.LargeList):
        inner = _undecoded(feature.feature)
        return None if inner is None else datasets.LargeList(inner)
    return None


def undecoded_images(dataset: datasets.Dataset) -> datasets.Dataset:
    """`dataset` with every image column (also lists of images) left as stored."""
    for column, feature in dataset.features.items():
        replacement = _undecoded(feature)
        if replacement is not None:
            dataset = dataset.cast_column(column, replacement)
    return dataset
