"""What the chapters on Steps 9 and 10 state: L1/L2 regularization, ComplexMLP, the final choice.

Step 9 compares no penalty, L1 and L2 at one strength, with the penalty on the weight
matrices only and on every parameter; Step 10 compares the two models of
:data:`labcode.models.MODELS`. :func:`best_configuration` then picks, on validation
accuracy alone, the best of every configuration the studies trained.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from copy import deepcopy
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import _validate
from ..experiment import TrainConfig
from ..training import penalized_parameters
from .findings import REACH_LEVEL, TIE_MARGIN, check_study, epochs_to_reach, exceeds, tied
from .studies import RegularizationStudy
from .sweep import SweepResult

__all__ = [
    "NEAR_ZERO",
    "weight_values",
    "near_zero_share",
    "regularization_findings",
    "fit_gap_findings",
    "mode_behaviour",
    "BATCH_INDEPENDENT",
    "complex_findings",
    "ABLATION",
    "SPEED_FACTOR",
    "ablation_findings",
    "describe_config",
    "best_configuration",
]


NEAR_ZERO: float = 1e-3
"""A weight counts as *near zero* when ``|w|`` is below this. With Adam at the Step 3
learning rate (also 1e-3) every step moves a weight by about this much, so under L1 a
weight whose data gradient is weaker than the penalty's pull ends within about one step
of zero, rather than at exactly zero."""


def weight_values(model: torch.nn.Module, penalize: str = "weights") -> np.ndarray:
    """Every entry of the parameters a penalty would include, as one flat array.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model.
    penalize : {"weights", "all"}, default "weights"
        As in :func:`labcode.training.penalized_parameters`.

    Returns
    -------
    ndarray of shape (n_values,)
        float64.
    """
    _validate.instance(model, torch.nn.Module, "model")
    params = penalized_parameters(model, penalize)
    return np.concatenate([p.detach().cpu().double().numpy().ravel() for p in params])


def near_zero_share(values: object, threshold: float = NEAR_ZERO) -> float:
    """The share of ``values`` whose absolute value is below ``threshold``.

    Parameters
    ----------
    values : array_like
        Weights, any shape, finite.
    threshold : float, default :data:`NEAR_ZERO`
        Positive.

    Returns
    -------
    float
        In [0, 1].
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(f"values must be a non-empty array of finite numbers, got {arr.size} values")
    threshold = _validate.positive(threshold, "threshold")
    return float(np.mean(np.abs(arr) < threshold))


def regularization_findings(
    study: RegularizationStudy, weights: dict[str, np.ndarray]
) -> dict[str, Any]:
    """What Step 9 shows, and the claims the chapter makes.

    Parameters
    ----------
    study : RegularizationStudy
        From :func:`~labcode.engine.studies.run_regularization_study`, with the settings ``"none"``,
        ``"L1 (weights)"`` and ``"L2 (weights)"`` (and optionally the ``(all)`` ones).
    weights : dict of str to ndarray
        For ``"none"``, ``"L1 (weights)"`` and ``"L2 (weights)"``: the weight-matrix
        entries of one trained model (:func:`weight_values`).

    Returns
    -------
    dict
        Numbers: ``summary``, ``mean``, ``std`` (final validation accuracy by setting),
        ``near_zero`` (share of weights below :data:`NEAR_ZERO`, by setting of
        ``weights``), ``mean_abs`` (mean ``|w|``), ``l1_gap`` and ``l2_gap`` (none minus
        the penalty on weights), ``penalize_gap`` (largest gap between ``weights`` and
        ``all`` of one penalty, ``nan`` without ``all``) and ``claims``:

        ``l1_lowest``
            L1 on the weights ends below both no penalty and L2 on the weights.
        ``penalties_tie_none``
            L1 and L2 on the weights both end tied (:func:`~labcode.engine.findings.tied`)
            with no penalty.
        ``no_penalty_helps``
            No penalized setting ends more than :data:`~labcode.engine.findings.TIE_MARGIN` above no penalty.
        ``penalize_choice_tied``
            For L1 and for L2, penalizing all parameters and only the weights end less
            than :data:`~labcode.engine.findings.TIE_MARGIN` apart (false when the ``all`` settings were not run).
        ``l1_most_near_zero``
            L1 leaves more than twice the share of near-zero weights that L2 leaves, and
            L2 more than no penalty.
        ``penalties_shrink``
            Both penalties give a smaller mean ``|w|`` than no penalty.
        ``margin_exceeds_noise``
            Every setting's standard deviation over seeds is below :data:`~labcode.engine.findings.TIE_MARGIN`.
    """
    _validate.instance(study, RegularizationStudy, "study")
    summary = study.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    needed = ("none", "L1 (weights)", "L2 (weights)")
    missing = [s for s in needed if s not in mean]
    if missing:
        raise ValueError(f"the study must hold the settings {list(needed)}; {missing} are missing")
    missing = [s for s in needed if s not in weights]
    if missing:
        raise ValueError(f"weights must hold the settings {list(needed)}; {missing} are missing")
    near = {s: near_zero_share(weights[s]) for s in needed}
    mean_abs = {s: float(np.mean(np.abs(np.asarray(weights[s], dtype=float)))) for s in needed}
    gaps = [
        abs(mean[f"{r} (weights)"] - mean[f"{r} (all)"])
        for r in ("L1", "L2")
        if f"{r} (all)" in mean
    ]
    penalize_gap = max(gaps) if len(gaps) == 2 else math.nan
    claims = {
        "l1_lowest": mean["L1 (weights)"] < min(mean["none"], mean["L2 (weights)"]),
        "penalties_tie_none": tied(mean["none"], mean["L1 (weights)"])
        and tied(mean["none"], mean["L2 (weights)"]),
        "no_penalty_helps": not any(exceeds(m, mean["none"]) for m in mean.values()),
        "penalize_choice_tied": len(gaps) == 2 and penalize_gap <= TIE_MARGIN,
        "l1_most_near_zero": near["L1 (weights)"] > 2 * near["L2 (weights)"]
        and near["L2 (weights)"] > near["none"],
        "penalties_shrink": mean_abs["L1 (weights)"] < mean_abs["none"]
        and mean_abs["L2 (weights)"] < mean_abs["none"],
        "margin_exceeds_noise": all(s < TIE_MARGIN for s in std.values()),
    }
    return {
        "summary": summary,
        "mean": mean,
        "std": std,
        "near_zero": near,
        "mean_abs": mean_abs,
        "l1_gap": mean["none"] - mean["L1 (weights)"],
        "l2_gap": mean["none"] - mean["L2 (weights)"],
        "penalize_gap": penalize_gap,
        "claims": {k: bool(v) for k, v in claims.items()},
    }


def fit_gap_findings(curves: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Training against validation accuracy at the end of training, per Step 9 setting.

    Parameters
    ----------
    curves : dict of str to pandas.DataFrame
        ``"none"`` and one or more penalized settings, each a per-epoch table with
        ``seed``, ``epoch``, ``train_accuracy`` and ``val_accuracy``.

    Returns
    -------
    dict
        Numbers: ``train`` and ``val`` (mean final accuracies), ``gap`` (train minus val),
        and ``claims``:

        ``training_above_validation``
            Every setting ends with its training accuracy more than
            :data:`~labcode.engine.findings.TIE_MARGIN` above its validation accuracy.
        ``penalty_leaves_gap``
            No penalty narrows that gap by more than the margin, compared with no penalty.
    """
    if not isinstance(curves, dict) or "none" not in curves or len(curves) < 2:
        raise ValueError("curves must map 'none' and at least one penalized setting to tables")
    train, val = {}, {}
    for name, table in curves.items():
        last = table[table["epoch"] == table["epoch"].max()]
        train[name], val[name] = float(last["train_accuracy"].mean()), float(last["val_accuracy"].mean())
    gap = {name: train[name] - val[name] for name in curves}
    claims = {
        "training_above_validation": all(exceeds(train[n], val[n]) for n in curves),
        "penalty_leaves_gap": not any(exceeds(gap["none"], gap[n]) for n in curves if n != "none"),
    }
    return {"train": train, "val": val, "gap": gap, "claims": claims}


def mode_behaviour(model: torch.nn.Module, X: object, *, seed: int = 0, part: int = 10) -> dict[str, Any]:
    """How a model's outputs depend on its mode (train or eval), measured on a copy.

    Four measurements, each the largest absolute difference between logits:

    * ``eval_repeat``: two forward passes of ``X`` in evaluation mode;
    * ``train_repeat``: two forward passes of ``X`` in training mode (Dropout draws new
      masks each time);
    * ``eval_batch``: the first ``part`` rows passed alone against the same rows inside
      the whole batch, in evaluation mode;
    * ``batchnorm_batch``: the same with BatchNorm in training mode and Dropout off, so
      only the batch statistics differ.

    Plus ``train_changed``: the number of rows whose predicted class differs between the
    two training-mode passes, and ``n``, the number of rows.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model; it is copied, so its weights and running statistics are not
        touched.
    X : array_like of shape (n_samples, n_features)
        Inputs, at least ``part + 1`` rows.
    seed : int, default 0
        Seeds the Dropout masks of the training-mode passes.
    part : int, default 10
        Rows passed alone, at least 2 (BatchNorm needs two samples in training mode).

    Returns
    -------
    dict
    """
    _validate.instance(model, torch.nn.Module, "model")
    x = torch.as_tensor(np.asarray(X, dtype=np.float32))
    if x.ndim != 2 or not 2 <= part < x.shape[0]:
        raise ValueError(
            f"X must be 2-D with more than part={part} rows (part >= 2), got shape {tuple(x.shape)}"
        )
    copy = deepcopy(model).cpu()
    diff = lambda a, b: float((a - b).abs().max())  # noqa: E731
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        copy.eval()
        e1, e2 = copy(x), copy(x)
        eval_batch = diff(copy(x[:part]), e1[:part])
        copy.train()
        t1, t2 = copy(x), copy(x)
        for m in copy.modules():
            if isinstance(m, torch.nn.Dropout):
                m.eval()
        batchnorm_batch = diff(copy(x[:part]), copy(x)[:part])
    return {
        "n": int(x.shape[0]),
        "eval_repeat": diff(e1, e2),
        "train_repeat": diff(t1, t2),
        "train_changed": int((t1.argmax(1) != t2.argmax(1)).sum()),
        "eval_batch": eval_batch,
        "batchnorm_batch": batchnorm_batch,
    }


BATCH_INDEPENDENT: float = 1e-5
"""Logits that differ by less than this count as equal (float32 rounding when a batch is
split differently)."""


def complex_findings(result: SweepResult, modes: dict[str, Any]) -> dict[str, Any]:
    """What Step 10 shows, and the claims the chapter makes.

    Parameters
    ----------
    result : SweepResult
        :func:`~labcode.engine.studies.run_model_study`'s sweep over ``model`` (``"simple"`` and ``"complex"``).
    modes : dict
        :func:`mode_behaviour` of a trained ComplexMLP.

    Returns
    -------
    dict
        Numbers: ``summary``, ``mean``, ``std``, ``gap`` (complex minus simple),
        ``gap_verdict`` (``"a tie"`` or ``"a difference"``, by :func:`~labcode.engine.findings.tied`),
        ``epochs_to_reach`` (of :data:`~labcode.engine.findings.REACH_LEVEL`, by model) and ``claims``:

        ``complex_not_worse``
            The ComplexMLP's mean final validation accuracy is at least the
            SimpleMLP's.
        ``complex_learns_faster``
            The ComplexMLP's mean curve reaches :data:`~labcode.engine.findings.REACH_LEVEL` in at most half the
            epochs the SimpleMLP's needs (which reaches it).
        ``eval_deterministic``
            Two evaluation-mode passes give identical logits.
        ``train_random``
            Two training-mode passes differ, and change the predicted class of at least
            one row.
        ``eval_batch_independent``
            In evaluation mode a row's logits do not depend on the rest of the batch
            (less than :data:`BATCH_INDEPENDENT`).
        ``batchnorm_batch_dependent``
            With BatchNorm in training mode they do (more than 1000 times that).
        ``margin_exceeds_noise``
            Both models' standard deviations over seeds are below :data:`~labcode.engine.findings.TIE_MARGIN`.
    """
    result = check_study(result, "model", ("simple", "complex"))
    needed = ("eval_repeat", "train_repeat", "train_changed", "eval_batch", "batchnorm_batch")
    if not isinstance(modes, dict) or any(k not in modes for k in needed):
        raise ValueError(f"modes must be a dict from mode_behaviour with the keys {list(needed)}")
    summary = result.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    reach = epochs_to_reach(result, REACH_LEVEL)
    claims = {
        "complex_not_worse": mean["complex"] >= mean["simple"],
        "complex_learns_faster": reach["simple"] is not None and reach["complex"] is not None
        and reach["complex"] <= reach["simple"] / 2,
        "eval_deterministic": modes["eval_repeat"] == 0.0,
        "train_random": modes["train_repeat"] > 0.0 and modes["train_changed"] >= 1,
        "eval_batch_independent": modes["eval_batch"] < BATCH_INDEPENDENT,
        "batchnorm_batch_dependent": modes["batchnorm_batch"] > 1000 * BATCH_INDEPENDENT,
        "margin_exceeds_noise": std["simple"] < TIE_MARGIN and std["complex"] < TIE_MARGIN,
    }
    return {
        "summary": summary,
        "mean": mean,
        "std": std,
        "gap": mean["complex"] - mean["simple"],
        "gap_verdict": "a tie" if tied(mean["complex"], mean["simple"]) else "a difference",
        "epochs_to_reach": reach,
        "claims": {k: bool(v) for k, v in claims.items()},
    }


ABLATION = {"BatchNorm": "complex_no_batchnorm", "Dropout": "complex_no_dropout"}
"""For each layer kind of the ComplexMLP, the model of Step 10's ablation trained without it."""

SPEED_FACTOR: float = 2.0
"""One model *learns faster* than another when its mean validation curve reaches
:data:`~labcode.engine.findings.REACH_LEVEL` in at most ``1 / SPEED_FACTOR`` of the epochs."""


def _faster(reach: dict[str, int | None], a: str, b: str) -> bool:
    """Whether model ``a`` reaches the level in at most 1/SPEED_FACTOR of ``b``'s epochs."""
    return reach[a] is not None and reach[b] is not None and reach[a] * SPEED_FACTOR <= reach[b]


def ablation_findings(result: SweepResult) -> dict[str, Any]:
    """Which part of the ComplexMLP helps: the Step 10 study with one layer kind taken out.

    Parameters
    ----------
    result : SweepResult
        :func:`~labcode.engine.studies.run_model_study`'s sweep over ``model``, with
        ``"simple"``, ``"complex"`` and the models of :data:`ABLATION`.

    Returns
    -------
    dict
        Numbers: ``summary``, ``mean``, ``std``, ``epochs_to_reach`` (by model), and
        ``claims``:

        ``batchnorm_speeds_learning``
            Without BatchNorm the model needs at least :data:`SPEED_FACTOR` times the
            epochs of the ComplexMLP to reach the level.
        ``width_speeds_learning``
            Without BatchNorm it still learns faster (by :data:`SPEED_FACTOR`) than the
            SimpleMLP: the wider, deeper layers help too.
        ``dropout_not_needed_for_speed``
            Without Dropout the model reaches the level no later than the ComplexMLP.
        ``finals_tied``
            Every model of the ablation ends tied (:func:`~labcode.engine.findings.tied`)
            with the ComplexMLP.
        ``margin_exceeds_noise``
            Every standard deviation over seeds is below :data:`~labcode.engine.findings.TIE_MARGIN`.
    """
    result = check_study(result, "model", ("simple", "complex", *ABLATION.values()))
    summary = result.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    reach = epochs_to_reach(result, REACH_LEVEL)
    no_bn, no_dropout = ABLATION["BatchNorm"], ABLATION["Dropout"]
    claims = {
        "batchnorm_speeds_learning": _faster(reach, "complex", no_bn),
        "width_speeds_learning": _faster(reach, no_bn, "simple"),
        "dropout_not_needed_for_speed": reach[no_dropout] is not None and reach["complex"] is not None
        and reach[no_dropout] <= reach["complex"],
        "finals_tied": all(tied(mean[m], mean["complex"]) for m in ABLATION.values()),
        "margin_exceeds_noise": all(std[m] < TIE_MARGIN for m in ("complex", *ABLATION.values())),
    }
    return {
        "summary": summary,
        "mean": mean,
        "std": std,
        "epochs_to_reach": reach,
        "claims": {k: bool(v) for k, v in claims.items()},
    }


def describe_config(config: TrainConfig, reference: TrainConfig | None = None) -> str:
    """The fields of ``config`` that differ from ``reference`` (Step 3 by default), seed aside.

    Returns ``"Step 3 configuration"`` when nothing but the seed differs.
    """
    reference = TrainConfig() if reference is None else reference
    ref = reference.to_dict()
    parts = [
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in config.to_dict().items()
        if k != "seed" and v != ref[k]
    ]
    return ", ".join(parts) if parts else "Step 3 configuration"


def best_configuration(results: Sequence[SweepResult]) -> dict[str, Any]:
    """Pick the best configuration on validation accuracy, then read its test accuracy.

    Every value of every study is one configuration (the study's base with that value);
    a configuration that several studies trained (the Step 3 one) counts once. They are
    ranked by mean final validation accuracy over seeds; only the best one's test
    accuracy is read.

    Parameters
    ----------
    results : sequence of SweepResult
        The studies, for example those of :func:`~labcode.engine.studies.run_study`, the ``results`` of a
        :class:`~labcode.engine.studies.RegularizationStudy` and :func:`~labcode.engine.studies.run_model_study`.

    Returns
    -------
    dict
        ``candidates`` (a DataFrame, best first: ``description``, ``val_mean``,
        ``val_std``, ``runs``, and the ``config`` of each), ``best`` (its TrainConfig),
        ``description``, ``val_mean``, ``val_std``, ``n_candidates``, ``n_tied`` (other
        configurations within :data:`~labcode.engine.findings.TIE_MARGIN` of the best), ``test_accuracy`` (of
        the best configuration's runs, by seed) and ``test_mean``.
    """
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one study, got none")
    rows: dict[str, dict[str, Any]] = {}
    for result in results:
        if not isinstance(result, SweepResult):
            raise TypeError(
                f"results must be labcode.engine.sweep.SweepResult objects, got {type(result).__name__}"
            )
        for value in result.values:
            config = dataclasses.replace(result.base, **{result.param: value}, seed=0)
            key = json.dumps(config.to_dict(), sort_keys=True)
            if key in rows:
                continue
            runs = result.runs[result.runs["value"] == value].sort_values("seed")
            rows[key] = {
                "description": describe_config(config),
                "val_mean": float(runs["val_accuracy"].mean()),
                "val_std": float(runs["val_accuracy"].std(ddof=0)),
                "runs": len(runs),
                "config": config,
                "_test": dict(zip(runs["seed"].astype(int), runs["test_accuracy"].astype(float))),
            }
    table = pd.DataFrame(list(rows.values()))
    table = table.sort_values("val_mean", ascending=False, kind="stable").reset_index(drop=True)
    best = table.iloc[0]
    test = best["_test"]
    return {
        "candidates": table.drop(columns="_test"),
        "best": best["config"],
        "description": best["description"],
        "val_mean": float(best["val_mean"]),
        "val_std": float(best["val_std"]),
        "n_candidates": len(table),
        "n_tied": int(sum(tied(best["val_mean"], m) for m in table["val_mean"].iloc[1:])),
        "test_accuracy": test,
        "test_mean": float(np.mean(list(test.values()))),
    }
