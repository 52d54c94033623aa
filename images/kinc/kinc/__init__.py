"""Gene co-expression networks the way KINC 3.4 builds them: its traditional mode and (similarity,
corrpower) its GMM mode."""

import os

__version__ = "0.1.0"

# kinc's linear algebra is rmt's eigenvalues of matrices of a few hundred genes. A threaded BLAS gains
# little on them and, when the cores are busy (an HTCondor slot is one core), its threads wait on each
# other: the walk took several times as long. So one thread, unless the environment chooses (this runs
# before numpy is imported, which is when the BLAS reads these).
_BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
if not any(name in os.environ for name in _BLAS_THREADS):
    os.environ.update(dict.fromkeys(_BLAS_THREADS, "1"))
