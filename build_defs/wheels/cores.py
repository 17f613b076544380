"""How many cores a process may use: Pants decides, and this is the one place that asks it.

Pants runs at most `[GLOBAL].process_execution_local_parallelism` processes at once (the
machine's cores by default). A process that declares `concurrency_available` is given
between one and that many of those slots, and the number is written where
`{pants_concurrency}` stands in its argv; the slots it holds go to no other process. The
scripts read it as `$JOBS`: ninja's `-j` in a wheel build, make's in a CPython build from
source, how many test selections run at once in a wheel test. Before, each script took
every core for itself (ninja's default is the cores + 2), so two NumPy builds side by side
on 2 cores ran 8 compilers.

Pants writes the number in after its cache lookup: it is not part of the cache key, and a
build given one core hits the cache of one given eight (`-j` changes no byte of a wheel).
"""

from __future__ import annotations

# More than any machine here has: Pants caps it at its own parallelism.
_AT_MOST = 64


def sharing_cores(bash: str, script: str) -> dict:
    """`Process` arguments that run `script` with `$JOBS` set to the cores Pants gives it.

    The number arrives in argv and is handed on in the environment, which the isolation
    wrapper (`isolation.py`) keeps when it runs the script again inside its namespaces.
    """
    return {
        "argv": (bash, "-c", 'JOBS="$1" exec "$0" "$2"', bash, "{pants_concurrency}", script),
        "concurrency_available": _AT_MOST,
    }
