"""backprop-hw: release, grade and teach a numpy backpropagation homework."""

import os

# One BLAS thread in the grading process, as in its workers (sandbox._clean_env): a
# batch already runs one grade per core, and BLAS threads on small matrices only
# spin (they doubled a batch's CPU per submission). It takes effect only where numpy
# is not imported yet (the command line imports this package first), and it is
# inherited by child processes; a caller that chose a thread count keeps it.
_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
if not any(name in os.environ for name in _THREADS):
    os.environ.update(dict.fromkeys(_THREADS, "1"))

__version__ = "0.1.0"
