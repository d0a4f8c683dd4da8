"""Tests of the Step 9 and Step 10 studies in labcode.engine.studies, and of the chapters
``book/regularization.md`` and ``book/complex_mlp.md``.

The first part builds small synthetic results whose outcome is known, so that every
claim is seen both true and false. The second part (marked ``book``) reads the runs the
book build trained, from its run cache, and checks the claims the chapters make on
exactly those results.
"""

from __future__ import annotations

from concurrent.futures import Executor

import numpy as np
import pandas as pd
import pytest
import torch

from labcode.data import load_digits_split
from labcode.models import ComplexMLP, SimpleMLP
from labcode.engine.findings import check_claims
from labcode.engine.model_findings import (
    BATCH_INDEPENDENT,
    NEAR_ZERO,
    best_configuration,
    ablation_findings,
    fit_gap_findings,
    complex_findings,
    describe_config,
    mode_behaviour,
    near_zero_share,
    regularization_findings,
    weight_values,
)
from labcode.engine.studies import SEEDS as BOOK_SEEDS
from labcode.engine.studies import (
    PENALTY_STRENGTH,
    REGULARIZERS,
    STUDIES,
    RegularizationStudy,
    penalty_config,
    run_model_study,
    run_regularization_study,
    run_study,
    setting_label,
    train_models,
)
from labcode.engine.pool import SerialExecutor
from labcode.engine.sweep import EPOCH_COLUMNS, RUN_COLUMNS, SweepResult
from labcode.experiment import TrainConfig
from labcode.training import penalized_parameters

SEEDS = (0, 1, 2)


# --- Step 9: configurations and weights ----------------------------------------------


def test_penalty_config_sets_one_penalty_and_keeps_the_rest():
    assert penalty_config("none") == TrainConfig()
    assert penalty_config("L1") == TrainConfig(l1=PENALTY_STRENGTH)
    assert penalty_config("L2", penalize="all") == TrainConfig(l2=PENALTY_STRENGTH, penalize="all")
    base = TrainConfig(hidden_size=16, l1=0.5)
    assert penalty_config("L2", strength=0.01, base=base) == TrainConfig(hidden_size=16, l2=0.01)
    with pytest.raises(ValueError, match=r"regularizer must be one of \['none', 'L1', 'L2'\], got 'L3'"):
        penalty_config("L3")
    with pytest.raises(ValueError, match="strength for L1 must be a finite number above 0, got 0"):
        penalty_config("L1", strength=0)
    with pytest.raises(ValueError, match="penalize must be one of"):
        penalty_config("L1", penalize="biases")
    assert [setting_label(r, "all") for r in REGULARIZERS] == ["none", "L1 (all)", "L2 (all)"]


def test_weight_values_take_the_penalized_parameters():
    model = SimpleMLP(hidden_size=4)
    w = weight_values(model)
    assert w.shape == (64 * 4 + 4 * 10,) and w.dtype == np.float64
    np.testing.assert_array_equal(w[: 64 * 4], model.fc1.weight.detach().numpy().ravel())
    assert weight_values(model, "all").size == sum(p.numel() for p in model.parameters())
    # BatchNorm's scale and shift are vectors: left out with the biases
    complex_model = ComplexMLP(hidden_sizes=(8,))
    assert weight_values(complex_model).size == 64 * 8 + 8 * 10
    assert len(penalized_parameters(complex_model, "weights")) == 2


def test_near_zero_share_counts_strictly_below_the_threshold():
    assert near_zero_share([0.0, 5e-4, -5e-4, 1e-3, 0.5]) == pytest.approx(3 / 5)
    assert near_zero_share(np.zeros((3, 3))) == 1.0
    assert near_zero_share([1.0, -1.0], threshold=2.0) == 1.0
    with pytest.raises(ValueError, match="non-empty array of finite numbers"):
        near_zero_share([np.nan])
    with pytest.raises(ValueError, match="threshold must be a finite number above 0, got 0"):
        near_zero_share([1.0], threshold=0)


def test_train_models_returns_the_trained_models_in_order():
    configs = [TrainConfig(epochs=1, hidden_size=4), TrainConfig(epochs=1, hidden_size=6, seed=1)]
    results = train_models(configs, executor=SerialExecutor())
    assert [r.config for r in results] == configs
    assert [r.model.hidden_size for r in results] == [4, 6]
    with pytest.raises(TypeError, match=r"configs\[0\] must be a labcode.experiment.TrainConfig"):
        train_models([{"lr": 0.1}])
    assert train_models([]) == []


def test_regularization_study_trains_all_runs_at_once_and_reports_them(tmp_path):
    base = TrainConfig(epochs=1)
    first = run_regularization_study(base=base, seeds=(0,), cache_dir=tmp_path,
                                     executor=SerialExecutor(), progress=False)
    assert len(first.runs) == 5 and not first.runs["cached"].any()
    again = run_regularization_study(base=base, seeds=(0,), cache_dir=tmp_path,
                                     executor=CacheOnly(), progress=False)
    assert again.runs["cached"].all()
    pd.testing.assert_frame_equal(again.runs.drop(columns="cached"),
                                  first.runs.drop(columns="cached"))


def test_train_models_reads_the_runs_a_sweep_cached(tmp_path, monkeypatch):
    import labcode.engine.runcache
    import labcode.engine.studies
    import labcode.engine.sweep

    configs = [TrainConfig(epochs=1, hidden_size=4, seed=s) for s in (0, 1)]
    first = train_models(configs, cache_dir=tmp_path)  # trains and stores both

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of reading the cache")

    monkeypatch.setattr(labcode.engine.sweep, "train_stacked", no_training)
    monkeypatch.setattr(labcode.engine.runcache, "run_experiment", no_training)
    monkeypatch.setattr(labcode.engine.studies, "run_experiment", no_training)
    again = train_models(configs, cache_dir=tmp_path)
    assert [r.config for r in again] == configs
    X = torch.randn(5, 64, generator=torch.Generator().manual_seed(0))
    for a, b in zip(first, again):
        assert a.history == b.history
        a.model.eval(), b.model.eval()
        with torch.no_grad():
            assert torch.equal(a.model(X), b.model(X))


# --- Step 9: findings on synthetic results ---------------------------------------------


def make_reg_study(means: dict[str, float], spread: float = 0.002) -> RegularizationStudy:
    rows = []
    for setting, mean in means.items():
        regularizer, _, rest = setting.partition(" (")
        penalize = rest.rstrip(")") or "weights"
        for k, seed in enumerate(SEEDS):
            acc = mean + spread * (k - 1)
            rows.append((setting, regularizer, penalize, seed, acc, acc, False, True))
    runs = pd.DataFrame(rows, columns=["setting", "regularizer", "penalize", "seed",
                                       "val_accuracy", "test_accuracy", "diverged", "cached"])
    return RegularizationStudy(PENALTY_STRENGTH, ("weights", "all"), {}, runs)


BOOKLIKE = {"none": 0.968, "L1 (weights)": 0.960, "L1 (all)": 0.959, "L2 (weights)": 0.966,
            "L2 (all)": 0.967}


def make_weights(l1_zero: float = 0.4, l2_zero: float = 0.15, none_zero: float = 0.0,
                 l1_scale: float = 0.15, l2_scale: float = 0.18) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)

    def draw(zero_share, scale):
        w = rng.normal(0.0, scale, 4000)
        w[: int(zero_share * w.size)] = 1e-5
        return w

    return {"none": draw(none_zero, 0.25), "L1 (weights)": draw(l1_zero, l1_scale),
            "L2 (weights)": draw(l2_zero, l2_scale)}


def test_regularization_claims_hold_on_a_study_like_the_books():
    f = regularization_findings(make_reg_study(BOOKLIKE), make_weights())
    assert f["claims"] == {name: True for name in f["claims"]}
    check_claims(f, "regularization")
    assert f["l1_gap"] == pytest.approx(0.008)
    assert f["penalize_gap"] == pytest.approx(0.001)
    assert f["near_zero"]["L1 (weights)"] == pytest.approx(0.4, abs=0.01)


@pytest.mark.parametrize(
    "means, false_claim",
    [
        ({"L1 (weights)": 0.967}, "l1_lowest"),
        ({"L1 (weights)": 0.955}, "penalties_tie_none"),
        ({"L2 (weights)": 0.955}, "penalties_tie_none"),
        ({"L2 (all)": 0.98}, "no_penalty_helps"),
        ({"L1 (all)": 0.945}, "penalize_choice_tied"),
    ],
)
def test_each_regularization_accuracy_claim_can_fail(means, false_claim):
    f = regularization_findings(make_reg_study({**BOOKLIKE, **means}), make_weights())
    assert not f["claims"][false_claim]
    with pytest.raises(ValueError, match=false_claim):
        check_claims(f, "regularization")


def test_regularization_weight_and_noise_claims_can_fail():
    f = regularization_findings(make_reg_study(BOOKLIKE), make_weights(l1_zero=0.25))
    assert not f["claims"]["l1_most_near_zero"]  # not twice L2's share
    f = regularization_findings(make_reg_study(BOOKLIKE), make_weights(l2_zero=0.0, none_zero=0.01))
    assert not f["claims"]["l1_most_near_zero"]  # L2 below no penalty
    f = regularization_findings(make_reg_study(BOOKLIKE), make_weights(l2_zero=0.0, l2_scale=0.4))
    assert not f["claims"]["penalties_shrink"]
    f = regularization_findings(make_reg_study(BOOKLIKE, spread=0.02), make_weights())
    assert not f["claims"]["margin_exceeds_noise"]
    # without the "all" settings the choice of parameters is not shown to be tied
    only_weights = {k: v for k, v in BOOKLIKE.items() if "all" not in k}
    f = regularization_findings(make_reg_study(only_weights), make_weights())
    assert not f["claims"]["penalize_choice_tied"] and np.isnan(f["penalize_gap"])


def test_regularization_findings_check_their_input():
    with pytest.raises(TypeError, match="study must be a labcode.engine.studies.RegularizationStudy"):
        regularization_findings({}, make_weights())
    with pytest.raises(ValueError, match=r"\['L2 \(weights\)'\] are missing"):
        regularization_findings(make_reg_study({"none": 0.9, "L1 (weights)": 0.9}), make_weights())
    weights = make_weights()
    del weights["none"]
    with pytest.raises(ValueError, match=r"weights must hold .* \['none'\] are missing"):
        regularization_findings(make_reg_study(BOOKLIKE), weights)


# --- Step 10: modes and findings -------------------------------------------------------


def test_mode_behaviour_separates_dropout_and_batchnorm_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = ComplexMLP()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X = np.random.default_rng(0).random((40, 64))
    modes = mode_behaviour(model, X)
    assert modes["n"] == 40
    assert modes["eval_repeat"] == 0.0
    assert modes["train_repeat"] > 0.0
    assert modes["eval_batch"] < BATCH_INDEPENDENT
    assert modes["batchnorm_batch"] > 1000 * BATCH_INDEPENDENT
    for k, v in model.state_dict().items():  # running statistics untouched
        assert torch.equal(v, before[k]), k
    assert model.training  # mode untouched
    assert mode_behaviour(model, X) == modes  # seeded
    # a model without Dropout and BatchNorm behaves the same in both modes
    simple = mode_behaviour(SimpleMLP(), X)
    assert simple["train_repeat"] == 0.0 and simple["train_changed"] == 0
    assert simple["batchnorm_batch"] < BATCH_INDEPENDENT
    with pytest.raises(ValueError, match="more than part=10 rows"):
        mode_behaviour(model, X[:10])


def make_model_study(simple: float, complex_: float, spread: float = 0.002,
                     rise: dict | None = None) -> SweepResult:
    """Both models climb linearly from 0.1 to their final accuracy over ``rise[model]``
    epochs (simple 20, complex 5), then stay flat; 30 epochs."""
    return _climbing_study({"simple": simple, "complex": complex_},
                           {"simple": 20, "complex": 5, **(rise or {})}, spread)


def _climbing_study(means: dict, rise: dict, spread: float) -> SweepResult:
    """A sweep over ``model``: each climbs linearly from 0.1 to its final accuracy (the
    mean, spread over the seeds) over ``rise[model]`` epochs, then stays flat; 30 epochs."""
    rows, runs = [], []
    for value, mean in means.items():
        for k, seed in enumerate(SEEDS):
            final = mean + spread * (k - 1)
            for e in range(1, 31):
                acc = 0.1 + (final - 0.1) * min(1.0, e / rise[value])
                rows.append(("model", value, seed, e, 0.1, acc, 0.1, acc, 0.5, False))
            runs.append(("model", value, seed, final, 0.5, False, np.nan, 30, 1.0, True))
    return SweepResult(param="model", values=tuple(means), seeds=SEEDS, base=TrainConfig(),
                       table=pd.DataFrame(rows, columns=list(EPOCH_COLUMNS)),
                       runs=pd.DataFrame(runs, columns=list(RUN_COLUMNS)))


def make_ablation_study(means: dict | None = None, rise: dict | None = None,
                        spread: float = 0.002) -> SweepResult:
    """Four models climbing linearly to their final accuracy over ``rise[model]`` epochs."""
    means = {"simple": 0.968, "complex": 0.978, "complex_no_batchnorm": 0.972,
             "complex_no_dropout": 0.975, **(means or {})}
    rise = {"simple": 24, "complex": 4, "complex_no_batchnorm": 10, "complex_no_dropout": 3,
            **(rise or {})}
    return _climbing_study(means, rise, spread)


def test_ablation_claims_hold_and_each_can_fail():
    f = ablation_findings(make_ablation_study())
    assert f["claims"] == {name: True for name in f["claims"]}
    cases = [
        (make_ablation_study(rise={"complex_no_batchnorm": 6}), "batchnorm_speeds_learning"),
        (make_ablation_study(rise={"simple": 16}), "width_speeds_learning"),
        (make_ablation_study(rise={"complex_no_dropout": 6}), "dropout_not_needed_for_speed"),
        (make_ablation_study(means={"complex_no_dropout": 0.96}), "finals_tied"),
        (make_ablation_study(means={"complex_no_batchnorm": 0.99}), "finals_tied"),
    ]
    for study, claim in cases:
        f = ablation_findings(study)
        assert not f["claims"][claim], claim
        assert sum(not v for v in f["claims"].values()) == 1, (claim, f["claims"])
    noisy = ablation_findings(make_ablation_study(spread=0.02))
    assert not noisy["claims"]["margin_exceeds_noise"]
    with pytest.raises(ValueError, match="complex_no_batchnorm"):
        ablation_findings(make_model_study(0.968, 0.978))


def test_complex_without_takes_out_one_layer_kind_and_keeps_the_initial_weights():
    from torch import nn

    from labcode.models import MODELS, complex_without
    torch.manual_seed(0)
    full = MODELS["complex"]()
    for name, kind in (("complex_no_batchnorm", nn.BatchNorm1d), ("complex_no_dropout", nn.Dropout)):
        torch.manual_seed(0)
        part = MODELS[name]()
        assert not any(isinstance(m, kind) for m in part.modules())
        assert sum(isinstance(m, nn.Identity) for m in part.modules()) == len(full.blocks)
        linear = {k: v for k, v in full.state_dict().items()  # blocks.<i>.0.* and out.*
                  if k.startswith("out.") or k.split(".")[2] == "0"}
        assert len(linear) == 2 * (len(full.blocks) + 1)
        assert all(torch.equal(part.state_dict()[k], v) for k, v in linear.items())
    with pytest.raises(ValueError, match="layer must be one of"):
        complex_without("relu")
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(model="complex_no_dropout", batch_size=1)
    TrainConfig(model="complex_no_batchnorm", batch_size=1)  # no BatchNorm: a batch of 1 is fine


GOOD_MODES = {"eval_repeat": 0.0, "train_repeat": 2.0, "train_changed": 5, "eval_batch": 1e-7,
              "batchnorm_batch": 1.0}


def test_complex_claims_hold_and_each_can_fail():
    f = complex_findings(make_model_study(0.968, 0.978), GOOD_MODES)
    assert f["claims"] == {name: True for name in f["claims"]}
    assert f["gap"] == pytest.approx(0.01)
    # 0.1 + 0.878 * e / 20 >= 0.95 first at e = 20; complex: 0.1 + 0.878 * e / 5 at e = 5
    assert f["epochs_to_reach"] == {"simple": 20, "complex": 5}
    cases = [
        (make_model_study(0.97, 0.96), GOOD_MODES, "complex_not_worse"),
        (make_model_study(0.968, 0.978), {**GOOD_MODES, "eval_repeat": 1e-6}, "eval_deterministic"),
        (make_model_study(0.968, 0.978), {**GOOD_MODES, "train_changed": 0}, "train_random"),
        (make_model_study(0.968, 0.978), {**GOOD_MODES, "eval_batch": 1e-3},
         "eval_batch_independent"),
        (make_model_study(0.968, 0.978), {**GOOD_MODES, "batchnorm_batch": 1e-6},
         "batchnorm_batch_dependent"),
        (make_model_study(0.968, 0.978, spread=0.02), GOOD_MODES, "margin_exceeds_noise"),
        (make_model_study(0.968, 0.978, rise={"complex": 11}), GOOD_MODES,
         "complex_learns_faster"),
    ]
    for study, modes, claim in cases:
        f = complex_findings(study, modes)
        assert not f["claims"][claim], claim
        assert sum(not v for v in f["claims"].values()) == 1, claim
    with pytest.raises(ValueError, match="modes must be a dict from mode_behaviour"):
        complex_findings(make_model_study(0.9, 0.9), {"eval_repeat": 0.0})


def test_complex_gap_verdict_follows_the_one_yardstick():
    # gap 0.5 point: a tie; gap 1.5 points: a difference (the chapter glues the word)
    assert complex_findings(make_model_study(0.968, 0.973), GOOD_MODES)["gap_verdict"] == "a tie"
    assert complex_findings(make_model_study(0.958, 0.973), GOOD_MODES)["gap_verdict"] == "a difference"


# --- The final choice --------------------------------------------------------------------


def make_sweep(param: str, accs: dict, tests: dict, base: TrainConfig | None = None) -> SweepResult:
    runs = [
        (param, value, seed, acc + 0.001 * (k - 1), tests[value][k], False, np.nan, 50, 1.0, True)
        for value, acc in accs.items()
        for k, seed in enumerate(SEEDS)
    ]
    return SweepResult(param=param, values=tuple(accs), seeds=SEEDS, base=base or TrainConfig(),
                       table=pd.DataFrame(), runs=pd.DataFrame(runs, columns=list(RUN_COLUMNS)))


def test_best_configuration_chooses_on_validation_and_reads_only_the_winners_test():
    lr = make_sweep("lr", {1e-2: 0.96, 1e-3: 0.967}, {1e-2: [0.99] * 3, 1e-3: [0.95, 0.96, 0.97]})
    model = make_sweep("model", {"simple": 0.967, "complex": 0.975},
                       {"simple": [0.95, 0.96, 0.97], "complex": [0.97, 0.98, 0.96]})
    choice = best_configuration([lr, model])
    # the Step 3 configuration is in both studies: counted once
    assert choice["n_candidates"] == 3
    assert choice["best"] == TrainConfig(model="complex")
    assert choice["description"] == "model=complex"
    assert choice["val_mean"] == pytest.approx(0.975)
    assert choice["test_accuracy"] == {0: 0.97, 1: 0.98, 2: 0.96}
    assert choice["test_mean"] == pytest.approx(0.97)
    assert choice["n_tied"] == 1  # Step 3 at 0.967 is within one point; lr 1e-2 is not
    assert list(choice["candidates"]["description"]) == [
        "model=complex", "Step 3 configuration", "lr=0.01"]
    # a higher test accuracy elsewhere does not change the choice
    assert "test_accuracy" not in choice["candidates"].columns
    with pytest.raises(ValueError, match="at least one study"):
        best_configuration([])
    with pytest.raises(TypeError, match="SweepResult"):
        best_configuration([lr.runs])


def test_describe_config_names_what_differs_from_step_3():
    assert describe_config(TrainConfig(seed=2)) == "Step 3 configuration"
    assert describe_config(TrainConfig(l1=1e-3, penalize="all")) == "l1=0.001, penalize=all"


# --- The book's results -------------------------------------------------------------------


class CacheOnly(Executor):
    """Fails on any run that is not in the cache: the tests read the chapter's runs."""

    def submit(self, fn, /, *args, **kwargs):
        raise RuntimeError(f"a run is missing from the book's run cache: {args[0]}")


@pytest.fixture(scope="module")
def book_results(built_book, run_cache) -> dict:
    assert built_book.returncode == 0, built_book.output[-5000:]
    common = dict(cache_dir=run_cache, executor=CacheOnly(), progress=False)
    reg = run_regularization_study(**common)
    model_study = run_model_study(**common)
    studies = [run_study(name, **common) for name in STUDIES]
    assert reg.runs["cached"].all() and model_study.runs["cached"].all()
    # the models the chapters show, with their weights, from the same cache
    configs = [penalty_config(r) for r in REGULARIZERS] + [TrainConfig(model="complex")]
    trained = train_models(configs, cache_dir=run_cache, executor=CacheOnly())
    return {"reg": reg, "model_study": model_study, "studies": studies, "trained": trained}


@pytest.mark.book
def test_book_regularization_claims(book_results):
    reg = book_results["reg"]
    assert len(reg.runs) == 5 * len(BOOK_SEEDS) and not reg.runs["diverged"].any()
    weights = {setting_label(r, "weights"): weight_values(t.model)
               for r, t in zip(REGULARIZERS, book_results["trained"])}
    f = regularization_findings(reg, weights)
    check_claims(f, "regularization")
    # independent of the findings: the L1 network has many more weights near zero on
    # every measure, and L1 ends lowest on average over the seeds (the chapter's words)
    l1 = np.abs(weights["L1 (weights)"])
    none = np.abs(weights["none"])
    assert (l1 < NEAR_ZERO).mean() > 10 * (none < NEAR_ZERO).mean()
    runs = reg.runs.set_index("setting")
    l1_mean = runs.loc["L1 (weights)", "val_accuracy"].mean()
    assert l1_mean < runs.loc["none", "val_accuracy"].mean()
    assert l1_mean < runs.loc["L2 (weights)", "val_accuracy"].mean()


@pytest.mark.book
def test_book_complex_claims(book_results, built_book):
    study = book_results["model_study"]
    result = book_results["trained"][-1]
    modes = mode_behaviour(result.model, load_digits_split(seed=0).val.X, seed=0)
    f = complex_findings(study, modes)
    check_claims(f, "ComplexMLP")
    html = built_book.page("complex_mlp")
    assert f"{f['mean']['complex']:.1%}" in html and f"{f['mean']['simple']:.1%}" in html
    assert f"{result.test_accuracy:.1%}" in html
    assert html.count("<img") >= 4


@pytest.mark.book
def test_book_final_choice_is_reported_once(book_results, built_book):
    choice = best_configuration([*book_results["studies"], *book_results["reg"].results.values(),
                                 book_results["model_study"]])
    html = built_book.page("complex_mlp")
    assert choice["description"] in html
    assert f"{choice['test_mean']:.1%}" in html
    # the choice uses validation accuracy only: the best is first by val_mean
    cands = choice["candidates"]
    assert cands["val_mean"].iloc[0] == cands["val_mean"].max()
    assert cands["description"].iloc[0] == choice["description"]
    assert choice["n_tied"] >= 1  # the chapter says others end within the margin


@pytest.mark.book
def test_book_regularization_chapter_quotes_the_findings(built_book, book_results):
    html = built_book.page("regularization")
    assert "Step 9" in html
    summary = book_results["reg"].summary()
    for mean in summary["val_mean"]:
        assert f"{mean:.1%}" in html
    assert html.count("<img") >= 1


def test_fit_gap_claims_hold_and_each_can_fail():
    def curves(gaps):  # final training accuracy 0.99, validation 0.99 - gap
        return {name: pd.DataFrame({"seed": [0, 1], "epoch": [5, 5], "train_accuracy": [0.99, 0.99],
                                    "val_accuracy": [0.99 - g, 0.99 - g]})
                for name, g in gaps.items()}

    f = fit_gap_findings(curves({"none": 0.02, "L1": 0.022, "L2": 0.015}))
    assert f["claims"] == {"training_above_validation": True, "penalty_leaves_gap": True}
    assert f["gap"]["L1"] == pytest.approx(0.022)
    assert not fit_gap_findings(curves({"none": 0.03, "L1": 0.015}))["claims"]["penalty_leaves_gap"]
    assert not fit_gap_findings(curves({"none": 0.02, "L1": 0.005}))["claims"]["training_above_validation"]
    with pytest.raises(ValueError, match="curves must map 'none'"):
        fit_gap_findings(curves({"L1": 0.02}))
