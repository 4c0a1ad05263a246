from __future__ import annotations

__all__ = ["__version__"]
from evmult._version import __version__
