"""labcode: the code behind the course book *Neural networks from first principles*.

Every implementation the book runs lives here; the chapters import it and call it.

Modules
-------
data
    Step 1: the digits split, ``add_bias``, ``one_hot``.
numpy_net
    Exercise 1: forward/backward pairs (fc, sigmoid, mse), ``NumpyNetwork``, the book's setups.
gradcheck
    Exercise 1, Step 3: ``numerical_gradient`` and ``relative_error``.
baselines
    scikit-learn on the same split, to judge the NumPy network.
models
    Exercise 2, Steps 3 and 10: ``SimpleMLP`` (the handout's ``simpleMLP``), ``ComplexMLP``
    (BatchNorm and Dropout) and the ``MODELS`` table.
torch_data
    Exercise 2, Step 3: ``DigitsDataset`` and the data loaders (``make_loaders``).
training
    Exercise 2, Steps 3 to 5: ``OPTIMIZERS``, ``fit``, ``evaluate``, ``predict``,
    ``TrainConfig``, ``run_experiment``.
sweep
    Exercise 2, Steps 6 to 10: ``sweep`` (one parameter, several seeds, any executor, run cache).
studies
    The book's studies (``STUDIES``, ``run_study``, Step 9's ``run_regularization_study``,
    Step 10's ``run_model_study``), the final ``best_configuration``, and the findings
    their prose states.
cli
    The command line, ``python -m labcode train`` and ``python -m labcode sweep``.
plots
    Every figure the book shows (``ax=None`` in, axes out).
provenance
    Source fingerprint and library versions.
"""

from importlib import metadata as _metadata

from . import baselines, data, gradcheck, numpy_net, plots, provenance
from .data import DigitsSplit, Partition, add_bias, load_digits_split, one_hot
from .numpy_net import NumpyNetwork, TrainingDiverged

# The PyTorch modules import torch, which takes seconds; they load on first use
# (``labcode.training``), so that ``import labcode`` stays fast for the NumPy chapters.
_TORCH_MODULES = ("models", "torch_data", "training", "sweep", "studies", "cli")


def __getattr__(name: str):
    if name in _TORCH_MODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


try:
    __version__ = _metadata.version("labcode")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "baselines",
    "data",
    "gradcheck",
    "models",
    "numpy_net",
    "plots",
    "provenance",
    "studies",
    "sweep",
    "torch_data",
    "training",
    "DigitsSplit",
    "Partition",
    "add_bias",
    "load_digits_split",
    "one_hot",
    "NumpyNetwork",
    "TrainingDiverged",
]
