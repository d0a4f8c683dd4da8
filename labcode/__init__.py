"""labcode: the code behind the course book *Neural networks from first principles*.

Every implementation the book runs lives here; the chapters import it and call it.
``import labcode`` gives the names a student uses in the lab (:data:`__all__`); the
PyTorch ones load torch on first use, so that the NumPy chapters start fast.

The teaching core, what a student writes, reads and imports:

data
    Step 1: the digits split, ``add_bias``, ``one_hot``.
numpy_net
    Exercise 1: forward/backward pairs (fc, sigmoid, mse), ``gradient_step``,
    ``NumpyNetwork``, the book's setups.
gradcheck
    Exercise 1, Step 3: ``numerical_gradient`` and ``relative_error``.
models
    Exercise 2, Steps 3 and 10: ``SimpleMLP`` (the handout's ``simpleMLP``) and
    ``ComplexMLP`` (BatchNorm and Dropout).
torch_data
    Exercise 2, Step 3: ``DigitsDataset`` and the data loaders (``make_loaders``).
training
    Exercise 2, Steps 3 to 5 and 9: ``OPTIMIZERS``, ``train_epoch`` (one epoch of the
    loop), ``fit``, ``evaluate``, ``predict``, ``weight_penalty``.
experiment
    One run from one configuration: ``TrainConfig``, ``run_experiment``; one run per
    value of a setting: ``compare_values`` (Steps 6 to 8, one seed).
checks
    One checker per piece a student writes, with verdicts and hints.
plots, study_plots
    Every figure the book shows (``ax=None`` in, axes out): the data and one run; the studies.
baselines
    scikit-learn on the same split, to judge the NumPy network.

The book engine, what builds the book (:mod:`labcode.engine`): ``engine.sweep`` (one
parameter over several seeds, the run cache, the process pool) and ``engine.studies``
(the studies of Steps 6 to 10 and the claims their prose makes). Around both: ``cli``
(``python -m labcode train | sweep | grade``), ``grade`` (running a class's notebooks
and tabulating their checks), ``notebook`` (glue) and ``provenance``.
"""

from importlib import import_module as _import_module
from importlib import metadata as _metadata

from . import data, gradcheck, numpy_net
from .data import NUM_CLASSES, DigitsSplit, Partition, add_bias, load_digits_split, one_hot
from .gradcheck import numerical_gradient, relative_error
from .numpy_net import (
    FitHistory,
    NumpyNetwork,
    TrainingDiverged,
    TrainingSaturated,
    fc_backward,
    fc_forward,
    gradient_step,
    mse_loss,
    sigmoid_backward,
    sigmoid_forward,
)

# Names that need torch (or matplotlib), and the module each comes from: they load on
# first use, so that ``import labcode`` stays fast for the NumPy chapters.
_LAZY = {
    "SimpleMLP": "models",
    "ComplexMLP": "models",
    "DigitsDataset": "torch_data",
    "make_loaders": "torch_data",
    "OPTIMIZERS": "training",
    "TrainConfig": "experiment",
    "ExperimentResult": "experiment",
    "History": "training",
    "run_experiment": "experiment",
    "compare_values": "experiment",
    "train_epoch": "training",
    "fit": "training",
    "evaluate": "training",
    "predict": "training",
    "weight_penalty": "training",
    "sweep": "engine.sweep",
}
_LAZY_MODULES = (
    "models", "torch_data", "training", "experiment", "checks", "plots", "study_plots",
    "baselines", "engine", "cli", "grade", "notebook", "provenance",
)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(_import_module(f".{_LAZY[name]}", __name__), name)
    if name in _LAZY_MODULES:
        return _import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


try:
    __version__ = _metadata.version("labcode")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    # modules of the teaching core
    "data",
    "numpy_net",
    "gradcheck",
    "models",
    "torch_data",
    "training",
    "experiment",
    "checks",
    "plots",
    # Step 1: the data
    "NUM_CLASSES",
    "DigitsSplit",
    "Partition",
    "load_digits_split",
    "add_bias",
    "one_hot",
    # Exercise 1: the network by hand
    "fc_forward",
    "fc_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "mse_loss",
    "gradient_step",
    "NumpyNetwork",
    "FitHistory",
    "TrainingDiverged",
    "TrainingSaturated",
    "numerical_gradient",
    "relative_error",
    # Exercise 2: PyTorch
    "SimpleMLP",
    "ComplexMLP",
    "DigitsDataset",
    "make_loaders",
    "OPTIMIZERS",
    "TrainConfig",
    "ExperimentResult",
    "History",
    "train_epoch",
    "fit",
    "evaluate",
    "predict",
    "weight_penalty",
    "run_experiment",
    "compare_values",
    "sweep",
]
