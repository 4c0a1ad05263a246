"""evmult: multiply simulated collider events.

Example:
    >>> import evmult
    >>> model = evmult.fit("zll.parquet", seed=1)  # doctest: +SKIP
    >>> events = evmult.multiply(model, factor=10, seed=2)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from evmult._version import __version__

__all__ = ["__version__", "fit", "load", "multiply"]


def __getattr__(name: str) -> Any:
    # torch is imported only when a model is used, not by `import evmult`
    if name in {"fit", "load", "multiply"}:
        from evmult import pipeline

        return getattr(pipeline, name)
    msg = f"module 'evmult' has no attribute {name!r}"
    raise AttributeError(msg)
