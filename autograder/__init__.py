"""backprop-hw: release, grade and teach a numpy backpropagation homework."""

import os

# One BLAS thread in the grading process, as in its workers (sandbox._clean_env): a
# batch already runs one grade per core, and BLAS threads on small matrices only
# spin (they doubled a batch's CPU per submission). This must run before numpy is
# imported; a thread count the caller set stays.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
del _name

__version__ = "0.1.0"
