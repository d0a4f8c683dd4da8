"""The book engine: what builds the book fast and keeps its prose honest.

Nothing here is part of the lab a student writes, and the teaching core
(:mod:`labcode.data`, :mod:`labcode.numpy_net`, :mod:`labcode.models`,
:mod:`labcode.torch_data`, :mod:`labcode.training`, ...) never imports this package.

setups
    The NumPy networks of Exercise 1 the book trains, and its learning-rate grid.
sweep
    One hyperparameter over several seeds on any :class:`concurrent.futures.Executor`
    (:func:`~labcode.engine.sweep.sweep`, :class:`~labcode.engine.sweep.SweepResult`).
runcache
    Each run's record and weights on disk (:class:`~labcode.engine.runcache.RunCache`):
    keys, atomic writes, resume, ``load_run``.
stacked
    R seeds of one configuration trained as one stacked model (exactly R runs).
pool
    The default process pool, created once per process (``default_pool``), and
    ``SerialExecutor``.
studies
    The book's studies of Steps 6 to 10: which configurations, which seeds.
findings
    What the chapter on Steps 6 to 8 states, its yardsticks, and ``check_claims``, which
    stops the build when a claim no longer holds.
model_findings
    What the chapters on Steps 9 and 10 state, and the final choice of configuration.
"""
