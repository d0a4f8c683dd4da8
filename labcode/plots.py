"""Every figure the book shows.

Each function draws on the axes it is given (``ax=None`` makes a new figure)
and returns the axes, so a reader can restyle or combine them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .data import IMAGE_SHAPE, NUM_CLASSES, Partition, check_features, check_labels

__all__ = [
    "plot_digit_grid",
    "plot_class_balance",
]


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


# --- Data (Step 1) -----------------------------------------------------------------


def plot_digit_grid(
    X: object,
    y: object,
    *,
    per_class: int = 8,
    num_classes: int = NUM_CLASSES,
    ax: Axes | None = None,
) -> Axes:
    """Draw the first ``per_class`` images of every class, one row per class.

    Parameters
    ----------
    X : array_like of shape (n_samples, 64)
        Images read row by row, values in [0, 1].
    y : array_like of shape (n_samples,)
        Labels in ``0 .. num_classes - 1``.
    per_class : int, default 8
        Images per row.
    num_classes : int, default 10
        Number of rows.
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        The axes holding the mosaic; a class with fewer images leaves blank cells.
    """
    X = check_features(X)
    y = check_labels(y, num_classes=num_classes)
    if X.shape[1] != IMAGE_SHAPE[0] * IMAGE_SHAPE[1]:
        raise ValueError(
            f"X must have {IMAGE_SHAPE[0] * IMAGE_SHAPE[1]} columns (8 x 8 images), "
            f"got shape {X.shape}"
        )
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    h, w = IMAGE_SHAPE
    pad = 1
    mosaic = np.full((num_classes * (h + pad) - pad, per_class * (w + pad) - pad), np.nan)
    for c in range(num_classes):
        for j, i in enumerate(np.flatnonzero(y == c)[:per_class]):
            top, left = c * (h + pad), j * (w + pad)
            mosaic[top : top + h, left : left + w] = X[i].reshape(h, w)
    ax = _new_axes(ax, (per_class * 0.6 + 1, num_classes * 0.6 + 0.6))
    cmap = plt.get_cmap("gray_r").copy()
    cmap.set_bad("white")
    ax.imshow(mosaic, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_yticks([c * (h + pad) + h / 2 - 0.5 for c in range(num_classes)])
    ax.set_yticklabels([str(c) for c in range(num_classes)])
    ax.set_xticks([])
    ax.set_ylabel("class")
    ax.set_title(f"First {per_class} training images of each class")
    return ax


def plot_class_balance(
    parts: Mapping[str, Partition] | Sequence[tuple[str, Partition]],
    *,
    num_classes: int = NUM_CLASSES,
    ax: Axes | None = None,
) -> Axes:
    """Bar chart of the share of each class in each part of a split.

    Parameters
    ----------
    parts : mapping of str to Partition
        For example ``split.parts()``.
    num_classes : int, default 10
        Number of classes.
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        Grouped bars: the fraction of the part's samples in each class.
    """
    items = list(parts.items()) if isinstance(parts, Mapping) else list(parts)
    if not items:
        raise ValueError("parts must name at least one Partition, got none")
    ax = _new_axes(ax, (7, 3))
    width = 0.8 / len(items)
    classes = np.arange(num_classes)
    for k, (name, part) in enumerate(items):
        if not isinstance(part, Partition):
            raise TypeError(f"parts[{name!r}] must be a Partition, got {type(part).__name__}")
        counts = part.class_counts(num_classes)
        ax.bar(classes + (k - (len(items) - 1) / 2) * width, counts / counts.sum(), width,
               label=f"{name} (n={len(part)})")
    ax.axhline(1 / num_classes, color="black", lw=0.8, ls="--", label="uniform")
    ax.set_xticks(classes)
    ax.set_xlabel("digit class")
    ax.set_ylabel("share of the part's samples")
    ax.set_title("Class balance of each part of the split")
    ax.legend(loc="lower right", fontsize="small")
    return ax
