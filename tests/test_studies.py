"""Tests of labcode.engine.studies: the findings of Steps 6 to 8, on made-up and on the book's results.

The first part builds small synthetic studies whose outcome is known, so that every
claim is seen both true and false. The second part (marked ``book``) reads the runs the
book build trained, from its run cache, and checks the claims the chapter
``book/studies.md`` makes on exactly those results.
"""

from __future__ import annotations

from concurrent.futures import Executor

import numpy as np
import pandas as pd
import pytest

from labcode.engine.findings import (
    CHANCE_ACCURACY,
    LATE_EPOCHS,
    REACH_LEVEL,
    RUNNING_AVERAGE_OPTIMIZERS,
    TIE_MARGIN,
    check_claims,
    epochs_to_reach,
    exceeds,
    hidden_size_findings,
    late_fluctuation,
    learned_threshold,
    learning_rate_findings,
    mean_curves,
    optimizer_findings,
    tied,
)
from labcode.engine.studies import SEEDS as BOOK_SEEDS
from labcode.engine.studies import STUDIES, prepare_studies, run_study, study_configs
from labcode.engine.pool import SerialExecutor
from labcode.engine.sweep import EPOCH_COLUMNS, RUN_COLUMNS, SweepResult
from labcode.experiment import TrainConfig

EPOCHS = 30
SEEDS = (0, 1, 2)


def test_one_yardstick_every_gap_is_a_tie_or_a_difference():
    assert tied(0.96, 0.96 + TIE_MARGIN) and not exceeds(0.96 + TIE_MARGIN, 0.96)
    assert exceeds(0.97 + TIE_MARGIN, 0.969) and not tied(0.97 + TIE_MARGIN, 0.969)
    rng = np.random.default_rng(0)
    pairs = np.concatenate([rng.uniform(0.9, 1.0, (500, 2)),
                            np.arange(1081)[:, None] / 1080 * [0, 1] + [0.95, 0.0]])
    for a, b in pairs:  # exactly one of the three verdicts, including gaps of k/1080
        assert tied(a, b) + exceeds(a, b) + exceeds(b, a) == 1, (a, b)


def curve(final: float, *, rise: int = 5, jitter: float = 0.0, start: float = CHANCE_ACCURACY,
          epochs: int = EPOCHS) -> np.ndarray:
    """A validation-accuracy curve: a straight climb to ``final`` over ``rise`` epochs,
    then flat, with an alternating jump of +/- ``jitter``."""
    e = np.arange(1, epochs + 1)
    acc = start + (final - start) * np.minimum(1.0, e / rise)
    return acc + jitter * (-1.0) ** e


def make_result(param: str, curves: dict, *, base: TrainConfig | None = None,
                train: dict | None = None, val_loss: dict | None = None) -> SweepResult:
    """A SweepResult whose every seed of a value follows ``curves[value]`` (a 1-D array),
    shifted by -0.002, 0, +0.002 for the three seeds."""
    rows, runs = [], []
    for value, acc in curves.items():
        for k, seed in enumerate(SEEDS):
            va = np.asarray(acc, dtype=float) + 0.002 * (k - 1)
            ta = np.asarray(train[value], dtype=float) if train else np.minimum(1.0, va + 0.02)
            vl = np.asarray(val_loss[value], dtype=float) if val_loss else 2.5 * (1 - va)
            for i in range(len(va)):
                rows.append((param, value, seed, i + 1, 2.5 * (1 - ta[i]), ta[i], vl[i], va[i],
                             va[-1], False))
            runs.append((param, value, seed, va[-1], va[-1], False, np.nan, len(va), 1.0, False))
    return SweepResult(
        param=param, values=tuple(curves), seeds=SEEDS, base=base or TrainConfig(),
        table=pd.DataFrame(rows, columns=list(EPOCH_COLUMNS)),
        runs=pd.DataFrame(runs, columns=list(RUN_COLUMNS)),
    )


# --- Helpers --------------------------------------------------------------------------


def test_learned_threshold_is_halfway_from_chance():
    assert learned_threshold(0.9) == pytest.approx(0.1 + 0.5 * 0.8)
    assert learned_threshold(CHANCE_ACCURACY) == pytest.approx(CHANCE_ACCURACY)
    with pytest.raises(ValueError, match=r"reference_accuracy must lie in \[0, 1\], got 1.5"):
        learned_threshold(1.5)
    with pytest.raises(TypeError, match="reference_accuracy must be a float, got str"):
        learned_threshold("0.9")


def test_mean_curves_epochs_to_reach_and_fluctuation():
    result = make_result("lr", {
        0.1: curve(0.9, rise=1, jitter=0.03),
        0.01: curve(0.97, rise=10),
        0.001: curve(0.5, rise=30),
    })
    curves = mean_curves(result)
    assert list(curves.columns) == [0.1, 0.01, 0.001]
    assert list(curves.index) == list(range(1, EPOCHS + 1))
    # the seeds are shifted by -0.002, 0, +0.002: the mean is the middle curve
    np.testing.assert_allclose(curves[0.01], curve(0.97, rise=10))
    reach = epochs_to_reach(result, 0.95)
    # 0.1 + 0.87 * e / 10 >= 0.95 first at e = 10 (it is 0.883 at e = 9)
    assert reach == {0.1: None, 0.01: 10, 0.001: None}
    assert epochs_to_reach(result, 0.9)[0.1] == 2  # odd epochs jump down to 0.87
    fl = late_fluctuation(result)
    assert fl[0.1] == pytest.approx(0.06)  # every step jumps by 2 * jitter
    assert fl[0.01] == pytest.approx(0.0)
    assert fl[0.001] == pytest.approx(0.4 / 30)  # the slow climb's step
    with pytest.raises(ValueError, match="last must be an int >= 1, got 0"):
        late_fluctuation(result, last=0)
    with pytest.raises(ValueError, match="metric must be a per-epoch column"):
        mean_curves(result, "seed")


# --- Step 6: learning rate ------------------------------------------------------------


def lr_curves(**changes) -> dict:
    """A study that looks like the book's: 1e-2 and 1e-3 tied on top, 1e-1 jumpy and
    worse, 1e-4 slow, 1e-5 barely moving."""
    curves = {
        1e-1: curve(0.92, rise=2, jitter=0.015),
        1e-2: curve(0.965, rise=4),
        1e-3: curve(0.97, rise=20, jitter=0.002),
        1e-4: curve(0.88, rise=40),
        1e-5: curve(0.16, rise=EPOCHS),
    }
    curves.update({float(k.replace("lr_", "").replace("_", "-")): v for k, v in changes.items()})
    return curves


def lr_loss(curves: dict) -> dict:
    loss = {v: 2.5 * (1 - acc) for v, acc in curves.items()}
    loss[1e-1] = np.r_[np.linspace(0.9, 0.3, 5), np.linspace(0.3, 0.9, EPOCHS - 5)]
    return loss


def test_learning_rate_claims_hold_on_a_study_like_the_books():
    curves = lr_curves()
    f = learning_rate_findings(make_result("lr", curves, val_loss=lr_loss(curves)))
    assert f["claims"] == dict.fromkeys(f["claims"], True)
    assert f["reference"] == 1e-3 and f["best"] == 1e-3 and f["second"] == 1e-2
    assert f["smallest"] == 1e-5 and f["largest"] == 1e-1
    assert f["fastest"] == 1e-2
    assert f["largest_val_loss_min_epoch"] == 5
    # the reference ends at 0.97 + 0.002 (its jitter is up in even epochs)
    assert f["learned_threshold"] == pytest.approx(learned_threshold(0.972))
    check_claims(f, "learning-rate")  # does not raise


@pytest.mark.parametrize(
    ("changes", "false_claim"),
    [
        # a smallest rate that has learned
        ({"lr_1e_5": curve(0.9, rise=EPOCHS)}, "smallest_not_learned"),
        # a small rate that has stopped improving (flat for the last epochs)
        ({"lr_1e_4": curve(0.88, rise=10)}, "smaller_still_improving"),
        ({"lr_1e_4": curve(0.96, rise=10)}, "smaller_never_reach"),
        ({"lr_1e_4": curve(0.3, rise=40)}, "other_smaller_learned"),
        # a large rate as good as the reference, or as calm
        ({"lr_1e_1": curve(0.97, rise=2, jitter=0.015)}, "largest_worse"),
        ({"lr_1e_1": curve(0.92, rise=2, jitter=0.002)}, "largest_unstable"),
        # the best at an end of the range
        ({"lr_1e_1": curve(0.98, rise=2, jitter=0.015)}, "best_is_interior"),
        ({"lr_1e_2": curve(0.94, rise=4)}, "top_two_tied"),
        # the reference falls behind two larger rates
        ({"lr_1e_3": curve(0.93, rise=20, jitter=0.002)}, "reference_in_top_two"),
        # the larger rate no faster
        ({"lr_1e_2": curve(0.965, rise=25)}, "larger_reaches_faster"),
    ],
)
def test_each_learning_rate_claim_can_fail(changes, false_claim):
    curves = lr_curves(**changes)
    f = learning_rate_findings(make_result("lr", curves, val_loss=lr_loss(curves)))
    assert f["claims"][false_claim] is False
    with pytest.raises(ValueError, match=rf"no longer support these claims: .*{false_claim}"):
        check_claims(f, "learning-rate")


def test_val_loss_rise_and_noise_claims_can_fail():
    curves = lr_curves()
    flat_loss = {v: 2.5 * (1 - acc) for v, acc in curves.items()}
    f = learning_rate_findings(make_result("lr", curves, val_loss=flat_loss))
    assert f["claims"]["largest_val_loss_rises"] is False
    # seeds spread widely: a gap of one point is no longer above the noise
    result = make_result("lr", curves, val_loss=lr_loss(curves))
    result.runs.loc[result.runs["value"] == 1e-3, "val_accuracy"] += [-0.03, 0.0, 0.03]
    f = learning_rate_findings(result)
    assert f["claims"]["margin_exceeds_noise"] is False
    # a run that diverged
    result = make_result("lr", curves, val_loss=lr_loss(curves))
    assert learning_rate_findings(result)["claims"]["none_diverged"] is True
    result.runs.loc[result.runs["value"] == 1e-1, "diverged"] = [False, True, False]
    assert learning_rate_findings(result)["claims"]["none_diverged"] is False
    # only the smallest rate below the reference: nothing to say about "the next one"
    del curves[1e-4]
    f = learning_rate_findings(make_result("lr", curves, val_loss=lr_loss(curves)))
    assert f["claims"]["other_smaller_learned"] is False


def test_learning_rate_findings_check_their_input():
    with pytest.raises(TypeError, match="result must be a labcode.engine.sweep.SweepResult, got dict"):
        learning_rate_findings({})
    hidden = make_result("hidden_size", {16: curve(0.9), 32: curve(0.95)})
    with pytest.raises(ValueError, match="must be a study over 'lr', got one over 'hidden_size'"):
        learning_rate_findings(hidden)
    no_ref = make_result("lr", {1e-1: curve(0.9), 1e-2: curve(0.95)})
    with pytest.raises(ValueError, match=r"must include the values \[0.001\]"):
        learning_rate_findings(no_ref)
    only_smaller = make_result("lr", {1e-3: curve(0.9), 1e-4: curve(0.8)})
    with pytest.raises(ValueError, match="rates below and above the reference 0.001"):
        learning_rate_findings(only_smaller)


# --- Step 7: hidden size --------------------------------------------------------------


def hidden_curves(**changes) -> dict:
    curves = {
        16: curve(0.95, rise=30),
        32: curve(0.968, rise=20),
        64: curve(0.97, rise=12),
        128: curve(0.972, rise=10),
        256: curve(0.971, rise=6),
        512: curve(0.973, rise=5),
    }
    curves.update({int(k.removeprefix("h")): v for k, v in changes.items()})
    return curves


def test_hidden_size_claims_hold_on_a_study_like_the_books():
    f = hidden_size_findings(make_result("hidden_size", hidden_curves()))
    assert f["claims"] == dict.fromkeys(f["claims"], True)
    assert f["saturation"] == 32 and f["best"] == 512 and f["reference"] == 32
    assert f["smallest_gap"] == pytest.approx(0.973 - 0.95)
    assert f["spread_beyond_saturation"] == pytest.approx(0.973 - 0.968)


def test_hidden_size_claims_can_fail():
    # accuracy that keeps rising with width: no saturation before the widest
    rising = {h: curve(0.80 + 0.03 * k, rise=5) for k, h in enumerate((16, 32, 64, 128, 256, 512))}
    f = hidden_size_findings(make_result("hidden_size", rising))
    assert f["saturation"] == 512
    assert f["claims"]["flat_beyond_saturation"] is False
    # the widest overfits: its validation accuracy drops
    f = hidden_size_findings(make_result("hidden_size", hidden_curves(h512=curve(0.95, rise=5))))
    assert f["claims"]["flat_beyond_saturation"] is False
    # the smallest is as good as the rest
    f = hidden_size_findings(make_result("hidden_size", hidden_curves(h16=curve(0.97, rise=30))))
    assert f["claims"]["smallest_underfits"] is False
    # the widest learns no faster than the reference
    f = hidden_size_findings(make_result("hidden_size", hidden_curves(h512=curve(0.973, rise=20))))
    assert f["claims"]["wider_learns_faster"] is False
    assert f["claims"]["widest_fastest"] is False
    # another width a little faster than the widest
    f = hidden_size_findings(make_result("hidden_size", hidden_curves(h256=curve(0.971, rise=3))))
    assert f["claims"]["wider_learns_faster"] is True
    assert f["claims"]["widest_fastest"] is False
    # the narrowest fits its training set better than another width
    curves = hidden_curves()
    train = {h: np.full(EPOCHS, 0.99 + h / 100_000) for h in curves}
    assert hidden_size_findings(make_result("hidden_size", curves, train=train))["claims"][
        "smallest_lowest_train"] is True
    train[64] = np.full(EPOCHS, 0.98)
    assert hidden_size_findings(make_result("hidden_size", curves, train=train))["claims"][
        "smallest_lowest_train"] is False
    # the widest does not fit its training set
    curves = hidden_curves()
    train = {h: np.full(EPOCHS, 0.98) for h in curves}
    f = hidden_size_findings(make_result("hidden_size", curves, train=train))
    assert f["claims"]["widest_fits_training_set"] is False
    with pytest.raises(ValueError, match="widest_fits_training_set"):
        check_claims(f, "hidden-size")


# --- Step 8: optimizers ---------------------------------------------------------------


def optimizer_curves(**changes) -> dict:
    curves = {
        "sgd": curve(0.23, rise=EPOCHS * 2),
        "sgd_momentum": curve(0.92, rise=EPOCHS),
        "rmsprop": curve(0.968, rise=8, start=0.8),
        "adagrad": curve(0.76, rise=EPOCHS),
        "adadelta": curve(0.1, rise=EPOCHS),
        "adam": curve(0.968, rise=15, start=0.3),
        "adamw": curve(0.968, rise=15, start=0.3),
        "nadam": curve(0.967, rise=15, start=0.3),
    }
    curves.update(changes)
    return curves


def test_optimizer_claims_hold_on_a_study_like_the_books():
    f = optimizer_findings(make_result("optimizer", optimizer_curves()))
    assert f["claims"] == dict.fromkeys(f["claims"], True)
    assert set(f["top"]) == set(RUNNING_AVERAGE_OPTIMIZERS)
    assert f["ranking"][-2:] == ["sgd", "adadelta"]
    assert f["reference"] == "adam"


@pytest.mark.parametrize(
    ("changes", "false_claim"),
    [
        ({"sgd": curve(0.968, rise=20)}, "sgd_lags_adaptive"),
        ({"sgd": curve(0.9, rise=20)}, "sgd_not_learned"),
        ({"sgd_momentum": curve(0.2, rise=EPOCHS)}, "momentum_helps"),
        ({"sgd_momentum": curve(0.968, rise=EPOCHS)}, "momentum_lags_top"),
        ({"sgd_momentum": curve(0.968, rise=EPOCHS)}, "running_average_on_top"),
        ({"nadam": curve(0.9, rise=15)}, "running_average_on_top"),
        ({"adagrad": curve(0.3, rise=EPOCHS)}, "adagrad_learns_slowly"),
        ({"adadelta": curve(0.9, rise=EPOCHS)}, "adadelta_not_learned"),
        ({"adadelta": curve(0.3, rise=EPOCHS)}, "adadelta_at_chance"),
        ({"adamw": curve(0.9, rise=15, start=0.3)}, "adamw_matches_adam"),
        ({"rmsprop": curve(0.968, rise=15, start=0.3)}, "rmsprop_starts_faster"),
    ],
)
def test_each_optimizer_claim_can_fail(changes, false_claim):
    f = optimizer_findings(make_result("optimizer", optimizer_curves(**changes)))
    assert f["claims"][false_claim] is False


def test_optimizer_findings_need_every_optimizer_they_compare():
    curves = optimizer_curves()
    del curves["adadelta"]
    with pytest.raises(ValueError, match=r"\['adadelta'\] are missing"):
        optimizer_findings(make_result("optimizer", curves))


def test_check_claims_checks_its_input():
    with pytest.raises(TypeError, match="findings must be a dict with a 'claims' dict"):
        check_claims({"best": 1})
    check_claims({"claims": {"a": True}})
    with pytest.raises(ValueError, match="the demo results no longer support these claims: b, c;"):
        check_claims({"claims": {"a": True, "b": False, "c": False}}, "demo")


# --- The book's results ---------------------------------------------------------------


class CacheOnly(Executor):
    """Refuses to train: every run must come from the book build's run cache."""

    def submit(self, fn, /, *args, **kwargs):
        raise RuntimeError(f"a run is missing from the book's run cache: {args[0]}")


@pytest.fixture(scope="module")
def book_studies(built_book, run_cache) -> dict[str, SweepResult]:
    assert built_book.returncode == 0, built_book.output[-5000:]
    results = {
        name: run_study(name, cache_dir=run_cache, executor=CacheOnly(), progress=False)
        for name in ("learning_rate", "hidden_size", "optimizer")
    }
    for name, result in results.items():
        assert result.runs["cached"].all(), name
    return results


def final_val(result: SweepResult) -> pd.DataFrame:
    """Final validation accuracy from the per-epoch table: rows seeds, columns values."""
    last = result.table[result.table["epoch"] == result.table["epoch"].max()]
    return last.pivot(index="seed", columns="value", values="val_accuracy")


@pytest.mark.book
def test_book_studies_are_complete(book_studies):
    for name, result in book_studies.items():
        study = STUDIES[name]
        assert result.values == study.values
        assert len(result.runs) == len(study.values) * len(BOOK_SEEDS)
        assert not result.runs["diverged"].any()
        assert (result.runs["epochs_run"] == TrainConfig().epochs).all()
        # the per-epoch table's last epoch is the per-run final accuracy
        runs = result.runs.pivot(index="seed", columns="value", values="val_accuracy")
        pd.testing.assert_frame_equal(final_val(result), runs, check_names=False)


@pytest.mark.book
def test_book_learning_rate_claims(book_studies):
    result = book_studies["learning_rate"]
    f = learning_rate_findings(result)
    check_claims(f, "learning-rate")
    final = final_val(result)
    # independent of the findings: 1e-5 is far below 1e-3 on every seed, and near chance
    assert (final[1e-3] - final[1e-5] > 0.5).all()
    assert final[1e-5].mean() < 0.3
    assert final[1e-3].mean() > 0.9
    # 1e-1 is worse than 1e-3 on average, and its seeds spread more
    assert final[1e-1].mean() < final[1e-3].mean() - TIE_MARGIN
    assert final[1e-1].std() > final[1e-3].std()
    # 1e-2 reaches REACH_LEVEL (averaged over seeds) before 1e-3 does
    t = result.table
    mean = t.groupby(["value", "epoch"])["val_accuracy"].mean()
    first = {v: mean[v][mean[v] >= REACH_LEVEL].index.min() for v in (1e-2, 1e-3)}
    assert first[1e-2] < first[1e-3]
    # the smallest rate is still moving: its training loss falls over the last epochs
    loss = t[t["value"] == 1e-5].groupby("epoch")["train_loss"].mean()
    assert loss.iloc[-1] < loss.iloc[-1 - LATE_EPOCHS]


@pytest.mark.book
def test_book_hidden_size_claims(book_studies):
    result = book_studies["hidden_size"]
    f = hidden_size_findings(result)
    check_claims(f, "hidden-size")
    final = final_val(result).mean()
    assert final[16] < final[512] - TIE_MARGIN
    assert abs(final[32] - final[512]) < TIE_MARGIN
    assert final.loc[32:].max() - final.loc[32:].min() < TIE_MARGIN


@pytest.mark.book
def test_book_optimizer_claims(book_studies):
    result = book_studies["optimizer"]
    f = optimizer_findings(result)
    check_claims(f, "optimizer")
    final = final_val(result)
    # plain SGD is below Adam on every seed, by far
    assert (final["adam"] - final["sgd"] > 0.5).all()
    assert (final["sgd_momentum"] > final["sgd"]).all()
    assert final["adadelta"].max() < 0.2
    # Adam's configuration is the Step 3 one, trained once and shared with the other studies
    lr = book_studies["learning_rate"]
    pd.testing.assert_series_equal(
        final["adam"], final_val(lr)[1e-3], check_names=False
    )


@pytest.mark.book
def test_book_chapter_quotes_the_findings(built_book, book_studies):
    html = built_book.page("studies")
    for step in ("6: the learning rate", "7: the hidden size", "8: the optimizer"):
        assert f"Step {step}" in html
    lr = learning_rate_findings(book_studies["learning_rate"])
    hs = hidden_size_findings(book_studies["hidden_size"])
    opt = optimizer_findings(book_studies["optimizer"])
    for acc in (lr["mean"][1e-3], lr["mean"][1e-5], lr["mean"][1e-1], hs["mean"][16],
                opt["mean"]["sgd"], opt["mean"]["adadelta"]):
        assert f"{acc:.1%}" in html
    assert html.count("<img") >= 6


class _NoTraining(Executor):
    def submit(self, fn, /, *args, **kwargs):
        raise AssertionError(f"trained a run that should have been cached: {args[0]}")


def test_prepare_studies_fills_the_cache_that_run_study_reads(tmp_path):
    base = TrainConfig(epochs=1)
    names = ["learning_rate", "optimizer"]
    trained = prepare_studies(names, cache_dir=tmp_path, base=base, seeds=(0,),
                              executor=SerialExecutor(), progress=False)
    # the Step 3 configuration is in both studies and is trained once
    expected = [c for n in names for c in study_configs(n, base=base, seeds=(0,))]
    assert len(trained) == len(set(expected)) == len(expected) - 1
    for name in names:
        result = run_study(name, base=base, seeds=(0,), cache_dir=tmp_path,
                           executor=_NoTraining(), progress=False)
        assert result.runs["cached"].all()
    assert prepare_studies(names, cache_dir=tmp_path, base=base, seeds=(0,),
                           executor=_NoTraining()) == []
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        prepare_studies(["nope"], cache_dir=tmp_path)
    with pytest.raises(TypeError, match="the string"):
        prepare_studies("learning_rate", cache_dir=tmp_path)


def test_study_configs_cover_steps_9_and_10():
    from labcode.engine.studies import ALL_STUDIES, MODEL_STUDY_VALUES, regularization_configs

    assert ALL_STUDIES[-2:] == ("regularization", "model")
    reg = study_configs("regularization", seeds=(0,))
    assert reg == regularization_configs(seeds=(0,))
    assert [(c.l1, c.l2, c.penalize) for c in reg] == [
        (0.0, 0.0, "weights"), (1e-3, 0.0, "weights"), (1e-3, 0.0, "all"),
        (0.0, 1e-3, "weights"), (0.0, 1e-3, "all")]  # fmt: skip
    assert [c.model for c in study_configs("model", seeds=(0,))] == list(MODEL_STUDY_VALUES)
    every = [c for name in ALL_STUDIES for c in study_configs(name)]
    assert TrainConfig() in every and len(set(every)) < len(every)  # Step 3 is shared


def test_study_configs_follow_the_study_values_and_seeds():
    configs = study_configs("hidden_size", seeds=(0, 1))
    assert [(c.hidden_size, c.seed) for c in configs[:3]] == [(16, 0), (16, 1), (32, 0)]
    assert len(configs) == 2 * len(STUDIES["hidden_size"].values)
    assert all(c.replace(hidden_size=32, seed=0) == TrainConfig() for c in configs)
