"""Tests of labcode.notebook: glue with and without myst-nb."""

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
