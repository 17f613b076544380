"""A slice of NumPy's own test suite against the installed wheel.

The slice is NumPy's `fast` label (everything not marked slow: about 47,500 tests,
about 2.5 minutes on 2 cores with pytest-xdist), without `numpy/f2py` (its tests need a
Fortran compiler, which the wheel does not ship or use). Upstream runs the `full` label;
the slow tests alone take longer than CI's budget on 2 cores.
"""

import os
import sys

import numpy

f2py = os.path.join(os.path.dirname(numpy.__file__), "f2py")
# The cores Pants gives the test process (`$JOBS`, set by build_defs/wheels/cores.py).
workers = os.environ.get("JOBS") or str(os.cpu_count() or 1)
# --ignore needs an absolute path here (a glob through numpy.test did not work with pytest 9).
ok = numpy.test(
    label="fast",
    extra_argv=[f"--ignore={f2py}", "-n", workers, "-p", "no:cacheprovider", "--durations=5"],
)
sys.exit(0 if ok else 1)
