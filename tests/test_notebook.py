"""Tests of labcode.notebook: glue with and without myst-nb."""

import io

import numpy as np
import pytest

import labcode.notebook as nb


def test_glue_uses_myst_nb_when_installed(monkeypatch):
    seen = []
    monkeypatch.setattr(nb, "_myst_glue", lambda name, value, display: seen.append((name, value, display)))
    nb.glue("acc", 0.97, display=False)
    assert seen == [("acc", 0.97, False)]


def test_glue_without_myst_nb_stores_nothing_and_shows_only_on_request(monkeypatch, capsys):
    monkeypatch.setattr(nb, "_myst_glue", None)
    nb.glue("acc", 0.97, display=False)
    assert capsys.readouterr().out == ""
    nb.glue("acc", 0.97)
    assert "0.97" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["", None, 3])
def test_glue_rejects_bad_names(name):
    with pytest.raises(ValueError, match="name must be a non-empty str"):
        nb.glue(name, 1)


def test_sci_writes_exponents_without_padding():
    assert nb.sci(1e-5) == "1e-5"
    assert nb.sci(1e-3) == "1e-3"
    assert nb.sci(4.5e-16, 1) == "4.5e-16"
    assert nb.sci(1.25e-7, 2) == "1.25e-7"
    assert nb.sci(3e2) == "3e2"
    assert nb.sci(float("nan")) == "nan"
    assert nb.sci(0.0, 1) == "0"  # "the largest difference is 0", not 0.0e0


def test_sci_rejects_what_is_not_a_number():
    with pytest.raises(TypeError, match="value must be a real number, got str"):
        nb.sci("1e-5")
    with pytest.raises(ValueError, match="digits must be an int >= 0, got -1"):
        nb.sci(1.0, -1)


def test_points_is_the_difference_of_the_printed_percentages():
    assert nb.points(0.9678, 0.9594) == 0.9  # 96.8% - 95.9%, not 0.84
    assert nb.points(0.96, 0.97) == -1.0
    assert nb.points(0.96789, 0.96, digits=2) == 0.79
    with pytest.raises(TypeError, match="b must be a real number, got str"):
        nb.points(0.9, "0.8")


def test_trained_text_words_every_case():
    assert nb.trained_text(5, 5) == "all 5 were trained"
    assert nb.trained_text(0, 5) == "none was trained: all 5 were read from the run cache"
    assert nb.trained_text(2, 5) == "2 of the 5 were trained, the others read from the run cache"
    with pytest.raises(ValueError, match="trained must be at most total, got 6 of 5"):
        nb.trained_text(6, 5)
    with pytest.raises(ValueError, match="total must be an int >= 0, got -1"):
        nb.trained_text(0, -1)


def test_top_mistake_text_is_true_of_ties():
    cm = np.diag([30, 30, 30])
    assert nb.top_mistake_text(cm) == "There is no mistake."
    cm[1, 2] = 3
    cm[2, 0] = 1
    assert nb.top_mistake_text(cm) == (
        "The most frequent mistake is the true class 1 predicted as 2 (3 times).")
    cm[0, 1] = 3
    text = nb.top_mistake_text(cm)
    assert text.startswith("No single mistake stands out: 2 confusions")
    assert "0 → 1 and 1 → 2" in text and "3 times each" in text
    cm[:] = np.diag([5, 5, 5])
    cm[2, 1] = 1
    assert nb.top_mistake_text(cm).endswith("predicted as 1 (once).")


@pytest.mark.parametrize("bad", [np.zeros((2, 3), int), np.zeros(3, int), np.eye(2) * 0.5,
                                 -np.eye(2, dtype=int), np.zeros((1, 1), int)])
def test_top_mistake_text_refuses_what_is_no_confusion_matrix(bad):
    with pytest.raises(ValueError, match="counts must"):
        nb.top_mistake_text(bad)


def test_figure_png_records_the_smallest_text_that_is_drawn():
    import matplotlib
    from PIL import Image

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(4, 2), dpi=100)
    left.plot([0, 1], [0, 1])
    left.set_title("title", fontsize=14)
    left.tick_params(labelsize=11)
    right.text(0.5, 0.5, "note", fontsize=6.5)
    right.set_xticks([0.2], labels=["tiny"], fontsize=4)
    right.axis("off")  # its tick labels are not drawn, so they do not count
    assert nb.smallest_text_pt(fig) == 6.5
    with Image.open(io.BytesIO(nb.figure_png(fig))) as image:
        assert image.text[nb.TEXT_SIZE_KEY] == "6.5"
        assert round(image.info["dpi"][0]) == 100
    right.texts[0].set_visible(False)
    assert nb.smallest_text_pt(fig) == 11
    blank = plt.figure(figsize=(1, 1))
    assert nb.smallest_text_pt(blank) is None
    with Image.open(io.BytesIO(nb.figure_png(blank))) as image:
        assert image.text[nb.TEXT_SIZE_KEY] == "none"
    with pytest.raises(TypeError, match="matplotlib Figure"):
        nb.smallest_text_pt(left)
    plt.close("all")
