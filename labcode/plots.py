"""Every figure the book shows.

Each function draws on the axes it is given (``ax=None`` makes a new figure)
and returns the axes, so a reader can restyle or combine them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle
from matplotlib.ticker import (FuncFormatter, LogLocator, MaxNLocator, NullFormatter,
                               PercentFormatter)

from . import _validate
from ._axes import new_axes, percent
from .data import (
    IMAGE_SHAPE,
    NUM_CLASSES,
    Partition,
    confusion_matrix,
)

__all__ = [
    "FIGURE_INCHES",
    "TEXT_PT",
    "plot_digit_grid",
    "plot_class_balance",
    "plot_loss_curves",
    "plot_confusion_matrix",
    "plot_misclassified",
    "plot_weight_templates",
    "plot_digit_image",
    "plot_first_image",
    "plot_training_curves",
    "plot_per_class_accuracy",
    "plot_prediction_grid",
]


FIGURE_INCHES = 4.8
"""The widest a figure of the book is drawn, in inches (480 pixels at the notebooks' 100
dpi, and up to 500 with the labels that stick out). On a phone's column of about 340 CSS
pixels its text is shown at 0.68 of its size or larger."""

TEXT_PT = 10
"""The size of the smallest text of every figure, in points. At :data:`FIGURE_INCHES` it
reads as 9.4 CSS pixels or more on a phone (10 pt at 100 dpi is 13.9 pixels, times
340 / 500)."""


def _images(X: object) -> np.ndarray:
    """``X`` checked as a matrix of 8 x 8 images, one per row."""
    X = _validate.features(X)
    h, w = IMAGE_SHAPE
    if X.shape[1] != h * w:
        raise ValueError(f"X must have {h * w} columns (8 x 8 images), got shape {X.shape}")
    return X


def _images_and_predictions(
    X: object, y_true: object, y_pred: object, num_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images with their true and predicted labels, checked and of the same length."""
    X = _images(X)
    y_true = _validate.labels(y_true, num_classes, "y_true")
    y_pred = _validate.labels(y_pred, num_classes, "y_pred")
    if not X.shape[0] == y_true.shape[0] == y_pred.shape[0]:
        raise ValueError(
            f"X of shape {X.shape}, y_true of shape {y_true.shape} and y_pred of shape "
            f"{y_pred.shape} must have the same number of samples"
        )
    return X, y_true, y_pred


def _labelled_tiles(
    X: np.ndarray, indices: Sequence[int], *, n_cols: int, pad_x: int,
    inches: tuple[float, float, float], ax: Axes | None,
) -> tuple[Axes, np.ndarray, list[tuple[int, int]]]:
    """The images ``X[indices]`` in rows of ``n_cols`` tiles, with room above each for a label.

    Returns the axes (sized ``inches`` = (width per column, height per row, extra
    width)), the mosaic to hand to :func:`_show_mosaic` once the labels are drawn, and
    the (top, left) corner of each tile.
    """
    h, w = IMAGE_SHAPE
    pad_y = 4  # room above each tile for its label
    n = len(indices)
    cols = min(n_cols, max(1, n))
    rows = max(1, -(-n // cols))
    mosaic = np.full((rows * (h + pad_y), cols * (w + pad_x) - pad_x), np.nan)
    col_inches, row_inches, extra = inches
    ax = new_axes(ax, (cols * col_inches + extra, rows * row_inches + 0.6))
    corners = []
    for k, i in enumerate(indices):
        top, left = (k // cols) * (h + pad_y) + pad_y, (k % cols) * (w + pad_x)
        mosaic[top : top + h, left : left + w] = X[i].reshape(h, w)
        corners.append((top, left))
    return ax, mosaic, corners


def _show_mosaic(ax: Axes, mosaic: np.ndarray) -> None:
    """Draw a mosaic of images (NaN cells white)."""
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    ax.imshow(mosaic, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")


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
    X = _images(X)
    y = _validate.labels(y, num_classes)
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    h, w = IMAGE_SHAPE
    pad = 1
    mosaic = np.full((num_classes * (h + pad) - pad, per_class * (w + pad) - pad), np.nan)
    for c in range(num_classes):
        for j, i in enumerate(np.flatnonzero(y == c)[:per_class]):
            top, left = c * (h + pad), j * (w + pad)
            mosaic[top : top + h, left : left + w] = X[i].reshape(h, w)
    ax = new_axes(ax, (min(per_class * 0.42 + 0.8, FIGURE_INCHES), num_classes * 0.42 + 0.6))
    _show_mosaic(ax, mosaic)
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
    ax = new_axes(ax, (FIGURE_INCHES, 3.2))
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
    percent(ax.yaxis, decimals=None)
    ax.set_title("Class balance of each part of the split")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.5)  # room above the bars for the legend
    ax.legend(loc="upper center", ncol=2, fontsize=TEXT_PT)
    return ax


# --- Exercise 1: the NumPy network (Steps 4 and 5) ------------------------------------


def plot_loss_curves(
    curves: Mapping[str, object],
    *,
    log_y: bool = True,
    title: str = "Training loss during batch gradient descent",
    ax: Axes | None = None,
) -> Axes:
    """Training loss against the iteration, one line per run.

    Parameters
    ----------
    curves : mapping of str to array_like of shape (n_iterations,)
        Label of each run and its loss per iteration, for example the history
        returned by :meth:`labcode.numpy_net.NumpyNetwork.fit`.
    log_y : bool, default True
        Logarithmic loss axis, which shows the slow late decrease as clearly as
        the fast early one.
    title : str
        The axes' title.
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        One line per run, iterations counted from 1.
    """
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(f"curves must be a non-empty mapping of label to losses, got {curves!r:.80}")
    ax = new_axes(ax, (FIGURE_INCHES, 3.4))
    for label, values in curves.items():
        losses = np.asarray(values, dtype=np.float64)
        if losses.ndim != 1 or losses.size == 0:
            raise ValueError(f"curves[{label!r}] must be a non-empty 1-D sequence, got shape {losses.shape}")
        ax.plot(np.arange(1, losses.size + 1), losses, label=str(label), lw=1.6)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("iteration (one full-batch gradient step)")
    ax.set_ylabel("training loss (mean squared error)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    if len(curves) > 1:
        ax.legend(fontsize=TEXT_PT)
    return ax


def plot_confusion_matrix(
    y_true: object,
    y_pred: object,
    *,
    num_classes: int = NUM_CLASSES,
    title: str = "Confusion matrix",
    ax: Axes | None = None,
) -> Axes:
    """Counts of (true class, predicted class) pairs, mistakes in colour.

    Correct predictions, on the diagonal, are written in bold on white; every
    other cell is shaded by its count, so the classes the model confuses stand out.

    Parameters
    ----------
    y_true, y_pred : array_like of shape (n_samples,)
        True and predicted labels in ``0 .. num_classes - 1``.
    num_classes : int, default 10
        Number of classes.
    title : str
        The axes' title.
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        Rows are true classes, columns predicted classes; every non-zero count is written.
    """
    counts = confusion_matrix(y_true, y_pred, num_classes=num_classes)
    mistakes = counts.astype(np.float64)
    mistakes[counts == 0] = np.nan  # white: no sample
    np.fill_diagonal(mistakes, np.nan)  # white: correct predictions
    ax = new_axes(ax, (FIGURE_INCHES, 4.5))
    cmap = plt.get_cmap("Reds").with_extremes(bad="white")
    vmax = max(1.0, float(np.nan_to_num(mistakes, nan=0.0).max()))
    image = ax.imshow(mistakes, cmap=cmap, vmin=0.0, vmax=vmax)
    for i in range(num_classes):
        for j in range(num_classes):
            if counts[i, j] == 0:
                continue
            dark = i != j and counts[i, j] > 0.6 * vmax
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=TEXT_PT,
                    fontweight="bold" if i == j else "normal", color="white" if dark else "black")
    ticks = np.arange(num_classes)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    bar = ax.figure.colorbar(image, ax=ax, label="number of mistakes", shrink=0.8)
    bar.locator = MaxNLocator(integer=True)  # counts: no tick at 2.5
    bar.update_ticks()
    return ax


def plot_misclassified(
    X: object,
    y_true: object,
    y_pred: object,
    *,
    max_images: int = 24,
    n_cols: int = 5,
    num_classes: int = NUM_CLASSES,
    title: str = "Misclassified digits",
    ax: Axes | None = None,
) -> Axes:
    """The images whose prediction is wrong, each labelled "true -> predicted".

    Parameters
    ----------
    X : array_like of shape (n_samples, 64)
        Images read row by row, values in [0, 1].
    y_true, y_pred : array_like of shape (n_samples,)
        True and predicted labels.
    max_images : int, default 24
        Show at most this many, in the order of ``X``.
    n_cols : int, default 5
        Images per row (five fit a phone's column with labels it can read).
    num_classes : int, default 10
        Number of classes.
    title : str
        Start of the axes' title; the number of mistakes is appended.
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        A mosaic of the misclassified images.
    """
    X, y_true, y_pred = _images_and_predictions(X, y_true, y_pred, num_classes)
    if max_images < 1 or n_cols < 1:
        raise ValueError(f"max_images and n_cols must be at least 1, got {max_images} and {n_cols}")
    wrong = np.flatnonzero(y_true != y_pred)
    shown = wrong[:max_images]
    ax, mosaic, corners = _labelled_tiles(X, shown, n_cols=n_cols, pad_x=1,
                                          inches=(0.85, 1.2, 0.4), ax=ax)
    w = IMAGE_SHAPE[1]
    for i, (top, left) in zip(shown, corners):
        ax.text(left + w / 2 - 0.5, top - 0.7, f"{y_true[i]}\u2192{y_pred[i]}",
                ha="center", va="bottom", fontsize=TEXT_PT)
    _show_mosaic(ax, mosaic)
    ax.set_xticks([])
    ax.set_yticks([])
    if shown.size == 0:
        ax.text(0.5, 0.5, "no misclassified images", transform=ax.transAxes, ha="center")
    more = f", the first {shown.size} shown" if wrong.size > shown.size else ""
    ax.set_title(f"{title}:\n{wrong.size} of {y_true.size} (true \u2192 predicted){more}")
    return ax


def plot_weight_templates(W: object, *, title: str = "The weights of each output neuron") -> np.ndarray:
    """Each column of a network's only weight matrix as an 8 x 8 image: what the neuron looks for.

    Parameters
    ----------
    W : array_like of shape (65, num_classes)
        The weights of a network without a hidden layer (``net.params["W1"]``): one row
        per pixel, then the biases' row, which is left out.
    title : str
        The figure's title.

    Returns
    -------
    ndarray of Axes
        One tile per class, on a colour scale centred on zero (red raises the class's
        weighted sum, blue lowers it), with one colour bar for all.
    """
    h, w = IMAGE_SHAPE
    W = _validate.real_array(W, "W")
    if W.ndim != 2 or W.shape[0] != h * w + 1:
        raise ValueError(f"W must have shape ({h * w + 1}, num_classes), got {W.shape}")
    pixels = W[:-1]
    limit = float(np.abs(pixels).max()) or 1.0
    fig, axes = plt.subplots(2, -(-W.shape[1] // 2), figsize=(FIGURE_INCHES, 2.9), layout="constrained")
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= W.shape[1]:
            ax.set_axis_off()
            continue
        image = ax.imshow(pixels[:, k].reshape(h, w), cmap="RdBu_r", vmin=-limit, vmax=limit,
                          interpolation="nearest")
        ax.set_title(f"digit {k}", fontsize="medium")
    fig.colorbar(image, ax=axes, label="weight", shrink=0.8)
    fig.suptitle(title)
    return axes


# --- Exercise 2, Steps 2 to 5: the PyTorch MLP ----------------------------------------


def plot_digit_image(
    x: object,
    *,
    title: str = "One digit",
    ax: Axes | None = None,
) -> Axes:
    """One image, pixel by pixel, with a colour bar of the grey levels.

    Parameters
    ----------
    x : array_like of shape (64,) or (8, 8)
        One image, values in [0, 1] (a row of ``split.train.X``, or a tensor).
    title : str
        The axes' title.
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        The 8 x 8 image, with pixel rows and columns numbered from 0.
    """
    h, w = IMAGE_SHAPE
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape not in ((h * w,), (h, w)):
        raise ValueError(f"x must have shape ({h * w},) or ({h}, {w}), got {arr.shape}")
    _validate.features(arr.reshape(1, -1), "x")
    ax = new_axes(ax, (3.6, 3.0))
    image = ax.imshow(arr.reshape(h, w), cmap="gray_r", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
    ax.set_xticks(range(w))
    ax.set_yticks(range(h))
    ax.set_xlabel("pixel column")
    ax.set_ylabel("pixel row")
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label="grey level (0 white, 1 black)")
    return ax


@_validate.checked(lambda X, y: {"X": _images(X), "y": _validate.labels(y, NUM_CLASSES)})
def plot_first_image(X: object, y: object) -> Axes:
    """The first image of ``X`` as its 8 x 8 picture, titled with its label (the handout's
    Step 2 of the PyTorch part).

    Parameters
    ----------
    X : array_like of shape (n_samples, 64)
        Images, one per row (``split.train.X``).
    y : array_like of shape (n_samples,)
        Their labels.

    Returns
    -------
    Axes
        The picture of ``X[0]``, its title naming ``y[0]``.
    """
    return plot_digit_image(X[0], title=f"First training image, label {int(y[0])}")


def plot_training_curves(
    history: object,
    *,
    title: str = "Training of the MLP",
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Loss and accuracy per epoch, training and validation, side by side.

    Parameters
    ----------
    history : History or mapping
        A :class:`labcode.training.History`, or a mapping with the same columns
        (``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``),
        such as ``history.to_dict()``.
    title : str
        The figure's title.
    axes : pair of Axes, optional
        Where to draw the loss and the accuracy; a new figure when omitted.

    Returns
    -------
    ndarray of 2 Axes
        The loss panel (cross-entropy, logarithmic axis) and the accuracy panel.
    """
    columns = history.to_dict() if hasattr(history, "to_dict") else history
    if not isinstance(columns, Mapping):
        raise TypeError(
            f"history must be a History or a mapping of columns, got {type(history).__name__}"
        )
    needed = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ValueError(f"history lacks the columns {missing}; it has {sorted(columns)}")
    data = {c: np.asarray(columns[c], dtype=np.float64) for c in needed}
    n = data["epoch"].size
    if n == 0 or any(v.shape != (n,) for v in data.values()):
        raise ValueError(
            "history must hold at least one epoch and equally long columns, got lengths "
            f"{ {c: v.size for c, v in data.items()} }"
        )
    if axes is None:
        # one above the other: side by side, a phone would show their text too small
        fig, axes = plt.subplots(2, 1, figsize=(FIGURE_INCHES, 5.6), layout="constrained")
    else:
        axes = list(axes)
        if len(axes) != 2 or not all(isinstance(a, Axes) for a in axes):
            raise TypeError("axes must be a pair of matplotlib Axes or None")
        fig = axes[0].figure
    ax_loss, ax_acc = axes
    epochs = data["epoch"]
    marker = "o" if n <= 15 else None
    for part, style in (("train", "-"), ("val", "--")):
        name = "training" if part == "train" else "validation"
        ax_loss.plot(epochs, data[f"{part}_loss"], style, marker=marker, label=name)
        ax_acc.plot(epochs, data[f"{part}_accuracy"], style, marker=marker, label=name)
    ax_loss.set_yscale("log")
    ax_loss.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 0.1, 0.2, 0.5, 1, ...
    ax_loss.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax_loss.yaxis.set_minor_formatter(NullFormatter())
    ax_loss.set_ylabel("cross-entropy loss (log scale)")
    ax_loss.set_title("Loss per epoch")
    ax_acc.set_ylabel("accuracy")
    percent(ax_acc.yaxis)
    ax_acc.set_title("Accuracy per epoch")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=TEXT_PT)
    diverged = getattr(history, "diverged_at_epoch", None)
    fig.suptitle(title + (f" (diverged in epoch {diverged})" if diverged is not None else ""))
    return np.asarray([ax_loss, ax_acc], dtype=object)


def plot_per_class_accuracy(
    accuracy: object,
    *,
    overall: float | None = None,
    title: str = "Test accuracy of each class",
    ax: Axes | None = None,
) -> Axes:
    """Bar chart of the accuracy of each class.

    Parameters
    ----------
    accuracy : array_like of shape (num_classes,)
        Share of each class's samples classified correctly, for example
        :func:`labcode.training.per_class_accuracy`.
    overall : float, optional
        The accuracy over all samples, drawn as a dashed line.
    title : str
        The axes' title.
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        One bar per class, labelled with its accuracy; the lowest bar in red.
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    if acc.ndim != 1 or acc.size == 0 or not np.all((acc >= 0) & (acc <= 1)):
        raise ValueError(f"accuracy must be a 1-D array of values in [0, 1], got {acc!r:.120}")
    ax = new_axes(ax, (FIGURE_INCHES, 3.4))
    classes = np.arange(acc.size)
    colors = ["tab:red" if a == acc.min() else "tab:blue" for a in acc]
    bars = ax.bar(classes, acc, color=colors)
    # on a white ground above the dashed line, which passes behind them, not through them
    ax.bar_label(bars, labels=[f"{a:.0%}" for a in acc], fontsize=TEXT_PT, padding=2, zorder=4,
                 bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"})
    if overall is not None:
        ax.axhline(overall, color="black", lw=0.9, ls="--", zorder=3,
                   label=f"all classes: {overall:.1%}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=TEXT_PT)
    low = max(0.0, float(np.floor((min(acc.min(), overall or 1.0) - 0.1) * 10) / 10))
    ax.set_ylim(low, 1.05)
    ax.set_xticks(classes)
    ax.set_xlabel("digit class")
    ax.set_ylabel("accuracy")
    percent(ax.yaxis)
    ax.set_title(title)
    return ax


def plot_prediction_grid(
    X: object,
    y_true: object,
    y_pred: object,
    *,
    n_images: int = 50,
    n_cols: int = 5,
    num_classes: int = NUM_CLASSES,
    title: str = "Test digits with their predicted label",
    ax: Axes | None = None,
) -> Axes:
    """The first ``n_images`` digits, each with its predicted and true label; mistakes in red.

    Parameters
    ----------
    X : array_like of shape (n_samples, 64)
        Images read row by row, values in [0, 1].
    y_true, y_pred : array_like of shape (n_samples,)
        True and predicted labels.
    n_images : int, default 50
        Number of images, taken in the order of ``X``.
    n_cols : int, default 5
        Images per row (five fit a phone's column with labels it can read).
    num_classes : int, default 10
        Number of classes.
    title : str
        Start of the axes' title; the number of mistakes shown is appended.
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        A mosaic; above each tile "true → predicted" for a mistake (as in
        :func:`plot_misclassified`), the predicted label
        alone when it is right. Mistakes get a red frame and a red label.
    """
    X, y_true, y_pred = _images_and_predictions(X, y_true, y_pred, num_classes)
    if n_images < 1 or n_cols < 1:
        raise ValueError(f"n_images and n_cols must be at least 1, got {n_images} and {n_cols}")
    n = min(n_images, X.shape[0])
    ax, mosaic, corners = _labelled_tiles(X, range(n), n_cols=n_cols, pad_x=2,
                                          inches=(0.85, 1.15, 0.4), ax=ax)
    h, w = IMAGE_SHAPE
    wrong = 0
    for k, (top, left) in enumerate(corners):
        ok = y_true[k] == y_pred[k]
        wrong += not ok
        label = f"{y_pred[k]}" if ok else f"{y_true[k]}\u2192{y_pred[k]}"
        ax.text(left + w / 2 - 0.5, top - 0.8, label, ha="center", va="bottom",
                fontsize=TEXT_PT, color="black" if ok else "tab:red",
                fontweight="normal" if ok else "bold")
        if not ok:
            ax.add_patch(Rectangle((left - 0.9, top - 0.9), w + 0.8, h + 0.8, fill=False,
                                   edgecolor="tab:red", linewidth=2, clip_on=False))
    _show_mosaic(ax, mosaic)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{title}:\n{wrong} of {n} wrong, in red (true \u2192 predicted)")
    return ax


# --- Exercise 2, Steps 6 to 10: studies over one parameter ----------------------------


# --- Exercise 2, Step 9: the weights under L1 and L2 ----------------------------------


