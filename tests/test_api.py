"""The top-level API of labcode: the names a student uses, pinned so that growth is a decision."""

import subprocess
import sys

import labcode

PUBLIC = [
    "__version__",
    "data", "numpy_net", "gradcheck", "models", "torch_data", "training", "experiment", "checks",
    "plots",
    "NUM_CLASSES", "DigitsSplit", "Partition", "load_digits_split", "add_bias", "one_hot",
    "fc_forward", "fc_backward", "sigmoid_forward", "sigmoid_backward", "mse_loss",
    "gradient_step", "NumpyNetwork", "FitHistory", "TrainingDiverged", "TrainingSaturated",
    "numerical_gradient", "relative_error",
    "SimpleMLP", "ComplexMLP", "DigitsDataset", "make_loaders", "OPTIMIZERS", "TrainConfig",
    "ExperimentResult", "History", "train_epoch", "fit", "evaluate", "predict", "weight_penalty",
    "run_experiment", "compare_values", "sweep",
]


def test_the_public_names_are_exactly_these():
    # a new top-level name is a decision: add it here, in the README and in the API page
    assert labcode.__all__ == PUBLIC
    assert len(PUBLIC) <= 45


def test_every_public_name_resolves_to_the_object_of_its_module():
    from labcode import engine, models, numpy_net, training
    from labcode.engine import sweep as sweep_module

    for name in PUBLIC:
        assert getattr(labcode, name) is not None, name
    assert labcode.sweep is sweep_module.sweep and callable(labcode.sweep)
    assert labcode.SimpleMLP is models.SimpleMLP and labcode.fit is training.fit
    assert labcode.fc_backward is numpy_net.fc_backward
    assert engine.__name__ == "labcode.engine"


def test_an_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="has no attribute 'simple_mlp'"):
        labcode.simple_mlp  # noqa: B018


def test_import_labcode_does_not_import_torch():
    code = "import sys, labcode; labcode.fc_forward; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_teaching_core_never_imports_the_engine():
    # layer rule: data, numpy_net, gradcheck, models, torch_data, training, checks, plots
    # work without labcode.engine
    code = (
        "import sys, labcode.training, labcode.experiment, labcode.models, labcode.torch_data, labcode.plots, "
        "labcode.gradcheck, labcode.numpy_net, labcode.data, labcode.checks; "
        "print(sorted(m for m in sys.modules if m.startswith('labcode.engine')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
