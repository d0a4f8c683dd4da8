"""Tests of labcode.plots: what each figure draws, and the input it refuses."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from labcode import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- Exercise 2, Steps 2 to 5: the PyTorch MLP ----------------------------------------


def _history(n=4):
    return {
        "epoch": list(range(1, n + 1)),
        "train_loss": np.linspace(2.0, 0.5, n),
        "train_accuracy": np.linspace(0.2, 0.9, n),
        "val_loss": np.linspace(2.1, 0.6, n),
        "val_accuracy": np.linspace(0.3, 0.85, n),
    }


def test_digit_image_shows_the_pixels():
    x = np.arange(64) / 63
    ax = plots.plot_digit_image(x, title="ramp")
    np.testing.assert_allclose(ax.images[0].get_array(), x.reshape(8, 8))
    assert ax.get_title() == "ramp"
    with pytest.raises(ValueError, match=r"x must have shape \(64,\) or \(8, 8\), got \(63,\)"):
        plots.plot_digit_image(np.zeros(63))
    with pytest.raises(ValueError, match="x must be finite"):
        plots.plot_digit_image(np.full(64, np.nan))


def test_training_curves_draw_train_and_validation_per_epoch():
    h = _history()
    ax_loss, ax_acc = plots.plot_training_curves(h)
    assert ax_loss.get_yscale() == "log"
    for ax, key in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        train, val = ax.get_lines()
        np.testing.assert_array_equal(train.get_xdata(), h["epoch"])
        np.testing.assert_allclose(train.get_ydata(), h[f"train_{key}"])
        np.testing.assert_allclose(val.get_ydata(), h[f"val_{key}"])
        assert ax.get_xlabel() == "epoch"


def test_training_curves_draw_on_given_axes_and_check_columns():
    _, given = plt.subplots(1, 2)
    axes = plots.plot_training_curves(_history(), axes=given)
    assert list(axes) == list(given)
    bad = _history()
    del bad["val_loss"]
    with pytest.raises(ValueError, match=r"lacks the columns \['val_loss'\]"):
        plots.plot_training_curves(bad)
    with pytest.raises(TypeError, match="pair of matplotlib Axes"):
        plots.plot_training_curves(_history(), axes=[given[0]])


def test_per_class_accuracy_bars_mark_the_lowest():
    acc = np.array([1.0, 0.9, 0.8, 0.95])
    ax = plots.plot_per_class_accuracy(acc, overall=0.9)
    heights = [p.get_height() for p in ax.patches if isinstance(p, Rectangle)][:4]
    np.testing.assert_allclose(heights, acc)
    red = [p for p in ax.patches[:4] if p.get_facecolor()[:3] == matplotlib.colors.to_rgb("tab:red")]
    assert len(red) == 1 and red[0].get_height() == 0.8
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        plots.plot_per_class_accuracy([0.5, 1.5])


def test_prediction_grid_frames_exactly_the_mistakes():
    rng = np.random.default_rng(0)
    X = rng.random((12, 64))
    y_true = np.arange(12) % 10
    y_pred = y_true.copy()
    y_pred[[2, 7]] = (y_pred[[2, 7]] + 1) % 10
    ax = plots.plot_prediction_grid(X, y_true, y_pred, n_images=10, n_cols=5)
    frames = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(frames) == 2
    labels = [t.get_text() for t in ax.texts]
    assert len(labels) == 10
    assert labels[2] == f"{y_true[2]}\u2192{y_pred[2]}" and labels[0] == str(y_pred[0])  # as plot_misclassified
    assert "2 of 10 wrong" in ax.get_title()
    with pytest.raises(ValueError, match="same number of samples"):
        plots.plot_prediction_grid(X, y_true[:5], y_pred)


def test_weight_templates_show_each_class_on_one_scale_centred_on_zero():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(65, 10))
    W[-1] = 100.0  # the biases' row is left out of the images and of the colour scale
    axes = plots.plot_weight_templates(W)
    images = [ax.images[0] for ax in axes.flat if ax.images]
    assert len(images) == 10
    limit = np.abs(W[:-1]).max()
    assert all(im.get_clim() == (-limit, limit) for im in images)
    np.testing.assert_array_equal(images[3].get_array(), W[:-1, 3].reshape(8, 8))
    assert [ax.get_title() for ax in axes.flat][:2] == ["digit 0", "digit 1"]
    with pytest.raises(ValueError, match=r"W must have shape \(65, num_classes\), got \(64, 10\)"):
        plots.plot_weight_templates(W[:-1])
    plt.close("all")


def test_train_val_curves_draw_each_setting_on_both_panels():
    import pandas as pd

    from labcode import study_plots

    def table(level):
        return pd.DataFrame({"seed": [0, 0, 1, 1], "epoch": [1, 2, 1, 2],
                             "train_accuracy": [level, level + 0.1] * 2,
                             "val_accuracy": [level - 0.1, level] * 2})

    axes = study_plots.plot_train_val_curves({"none": table(0.5), "L1": table(0.4)}, title="t")
    assert [len(ax.lines) for ax in axes] == [2, 2]
    np.testing.assert_allclose(axes[0].lines[1].get_ydata(), [0.4, 0.5])
    np.testing.assert_allclose(axes[1].lines[0].get_ydata(), [0.4, 0.5])
    with pytest.raises(ValueError, match="tables must map at least one"):
        study_plots.plot_train_val_curves({})
    with pytest.raises(ValueError, match=r"tables\['x'\] must be a non-empty"):
        study_plots.plot_train_val_curves({"x": pd.DataFrame()})
    plt.close("all")


def test_sweep_curves_differ_by_more_than_colour_and_write_rates_as_the_tables_do():
    import pandas as pd
    from matplotlib.ticker import PercentFormatter

    from labcode import study_plots

    names = ["adam", "sgd", "sgd_momentum", "rmsprop", "adagrad", "adadelta", "adamw"]
    rows = [{"param": "optimizer", "value": v, "seed": 0, "epoch": e, "val_accuracy": 0.5 + i / 100}
            for i, v in enumerate(names) for e in range(1, 21)]
    ax = study_plots.plot_sweep_curves(pd.DataFrame(rows))
    # a reader without colour vision tells every curve by its dashes and markers
    assert len({(line.get_linestyle(), line.get_marker()) for line in ax.lines}) == len(names)
    assert isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)
    rates = [{"param": "lr", "value": v, "seed": 0, "epoch": 1, "val_accuracy": 0.9}
             for v in (1e-1, 1e-4, 1e-5)]
    ax = study_plots.plot_sweep_curves(pd.DataFrame(rates))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["lr=1e-1", "lr=1e-4", "lr=1e-5"]
    plt.close("all")


def _every_figure():
    """One figure of each kind the book shows, drawn from small made-up data as large as
    the chapters' (the longest titles and labels they pass)."""
    import pandas as pd

    from labcode import study_plots
    from labcode.data import load_digits_split

    split = load_digits_split()
    X, y = split.test.X, split.test.y
    wrong = (y + (np.arange(y.size) % 7 == 0)) % 10
    rows = [{"param": "lr", "value": v, "seed": s, "epoch": e, "val_accuracy": 0.5 + e / 100,
             "train_accuracy": 0.6 + e / 100}
            for v in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5) for s in (0, 1) for e in range(1, 51)]
    table = pd.DataFrame(rows)
    finals = table[table.epoch == 50].assign(diverged=False)
    return {
        "digit_grid": plots.plot_digit_grid(split.train.X, split.train.y, per_class=10).figure,
        "class_balance": plots.plot_class_balance(
            {"training": split.train, "validation": split.val, "test": split.test}).figure,
        "loss_curves": plots.plot_loss_curves({"lr=1e-1": np.linspace(2, 0.1, 50),
                                               "lr=1e-2": np.linspace(2, 0.5, 50)}).figure,
        "confusion": plots.plot_confusion_matrix(y, wrong, title="SimpleMLP on the test set").figure,
        "misclassified": plots.plot_misclassified(
            X, y, wrong, max_images=40, title="Test digits the lab's network gets wrong").figure,
        "templates": plots.plot_weight_templates(np.random.default_rng(0).normal(size=(65, 10))).flat[0].figure,
        "digit_image": plots.plot_digit_image(X[0], title="label 0").figure,
        "training_curves": plots.plot_training_curves(_history(50), title="SimpleMLP, Adam")[0].figure,
        "class_accuracy": plots.plot_per_class_accuracy(
            np.linspace(0.9, 1, 10), overall=0.95, title="Accuracy of each class").figure,
        "prediction_grid": plots.plot_prediction_grid(
            X, y, wrong, n_images=50,
            title="ComplexMLP: test digits with their predicted label").figure,
        "sweep": study_plots.plot_sweep([1e-1, 1e-2, 1e-3], [0.9, 0.95, 0.97], "learning rate").figure,
        "sweep_curves": study_plots.plot_sweep_curves(table).figure,
        "sweep_final": study_plots.plot_sweep_final(finals).figure,
        "train_val": study_plots.plot_train_val_curves(
            {"none": table, "L1 on the weights": table, "L2 on all parameters": table},
            title="SimpleMLP with and without a penalty")[0].figure,
    }


def test_every_figure_fits_a_phone_column_with_text_it_can_read():
    """At most FIGURE_INCHES wide as the notebook shows it, no text below TEXT_PT: on a
    phone's column of 340 CSS pixels the text is at least 9 pixels (the browser test
    measures the built site's figures the same way, as shown)."""
    from PIL import Image
    import io

    from labcode.notebook import figure_png, smallest_text_pt

    for name, fig in _every_figure().items():
        fig.set_dpi(100)
        assert smallest_text_pt(fig) >= plots.TEXT_PT, name
        with Image.open(io.BytesIO(figure_png(fig))) as image:
            width = image.width
        # the cropped PNG: the figure, less its empty margins, plus matplotlib's 0.1 in pad
        assert width <= (plots.FIGURE_INCHES + 0.2) * 100, (name, width)
        assert plots.TEXT_PT * 100 / 72 * 340 / width >= 9, (name, width)
