"""Physics-aware, invertible encoding of event tables as float32 matrices.

:class:`Encoding` maps a channel's event table to one row of numbers per event and back:

* object pT as log(pT − floor), the floor just below the training sample's lowest pT
  of that kind of object (its selection threshold), so that no generated object falls
  below it (MET as log(1 + pT), which may be 0); η as is; masses as asinh(m), which
  keeps slightly negative masses of rounded inputs (constant masses, e.g. a kaon's,
  are stored once and not learned);
* φ measured relative to the leading object and wrapped around the training sample's
  circular mean of that difference, so a back-to-back peak sits mid-range instead of
  being cut at ±π; the leading object's own φ is not learned: the detector is
  φ-symmetric, and a uniform azimuth is drawn at generation;
* discrete quantities (flavour, charge, b-tag, jet count, process label) as integers,
  dequantised with narrow Gaussian noise (σ = 0.1, :data:`DEQUANTISATION_WIDTH`) for
  training and rounded back: smooth bumps a flow learns more easily than the boxes of
  uniform dequantisation, whose sharp edges shifted flavour fractions by 4 %;
* absent objects (a second jet in a one-jet event) as standard-normal noise that the
  decoder ignores, so the matrix has no spikes a density model would chase;
* optionally the channel's first resonance mass (mℓℓ, m3ℓ, m_Kππ) as a coordinate, so
  that a narrow peak is learned directly instead of through correlations. For the
  pT-ordered leptons, the pT ratios of neighbours (as logits, so the order holds by
  construction) are learned and the common pT scale is solved from the mass; the three
  particles of a decay (K, π, π) are learned as their parent's pT and η, the mass and
  the decay's rest-frame coordinates (square Dalitz plot and orientation), so that
  momenta that make the mass are made by construction;
* every column standardised with the training mean and spread.

The fitted state is plain JSON (:meth:`Encoding.state`), saved with a model.

The package is built of blocks, each a module with its fitting, forward and inverse
functions: :mod:`~evmult.encoding.columns` (the column records and naming rules),
:mod:`~evmult.encoding.objects` (pT floors, η bounds, pT order, lepton bits,
collections), :mod:`~evmult.encoding.resonance` (the resonance coordinate and the
decay frame), :mod:`~evmult.encoding.conditions` (what a conditional model is given);
:mod:`~evmult.encoding.core` composes them into :class:`Encoding`.

Example:
    >>> from evmult.encoding import Encoding
    >>> enc = Encoding.fit(table, get_channel("zll"))  # doctest: +SKIP
    >>> x = enc.transform(table, rng=np.random.default_rng(0))  # doctest: +SKIP
    >>> back = enc.inverse(x, rng=np.random.default_rng(1))  # doctest: +SKIP
"""

from evmult.encoding.columns import DEQUANTISATION_WIDTH, Column, Mirror, wrap_phi
from evmult.encoding.conditions import CONDITIONS
from evmult.encoding.core import Encoding

__all__ = ["CONDITIONS", "DEQUANTISATION_WIDTH", "Column", "Encoding", "Mirror", "wrap_phi"]
