"""Exception classes of evmult.

Every error a user can cause (a missing file, a wrong tree, a missing branch, an empty
selection, a non-finite value, an unknown channel) is an :class:`EvmultError`. The CLI
prints its message on one line and exits non-zero; library users catch it like any
other exception.
"""

from __future__ import annotations

__all__ = [
    "EvmultError",
    "EvmultWarning",
    "InputError",
    "ModelFileError",
    "SelectionError",
    "TrainingError",
]


class EvmultError(Exception):
    """Base class of all errors evmult raises for bad input or bad options."""


class InputError(EvmultError):
    """An input file, tree, branch or value cannot be used.

    The message names the file and the branch or value at fault.
    """


class SelectionError(EvmultError):
    """A channel selection kept no events, or was asked for with invalid options."""


class ModelFileError(InputError):
    """A model file is missing, corrupt or of another format."""


class TrainingError(EvmultError):
    """Training failed (e.g. a non-finite loss)."""


class EvmultWarning(UserWarning):
    """Something the user asked for works but is unlikely to be what they want (e.g.
    far more generated events than the model's events can be worth); the CLI prints it
    on one line, ``evmult: warning: ...``."""
