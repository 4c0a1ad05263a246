"""Selection building blocks on hand-made events."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import vector

from evmult.selection import clean, has_sfos_pair, leading_os_pair, merge_leptons

vector.register_awkward()


def leptons(events: list[list[tuple]]) -> ak.Array:
    """(pt, eta, phi, charge, pdgId) tuples -> pT-sorted Momentum4D records."""
    arr = ak.Array(
        [
            [
                {"pt": p, "eta": e, "phi": f, "mass": 0.0, "charge": q, "pdgId": i}
                for p, e, f, q, i in ev
            ]
            for ev in events
        ],
        with_name="Momentum4D",
    )
    return arr[ak.argsort(arr.pt, axis=1, ascending=False)]


def test_leading_os_pair_takes_the_first_pair_in_pt_order() -> None:
    lep = leptons(
        [
            [(50, 0, 0, 1, -13), (40, 0, 1, 1, -13), (30, 0, 2, -1, 13)],  # leading + third
            [(50, 0, 0, 1, -13), (40, 0, 1, 1, -13)],  # same sign: none
            [(15, 0, 0, 1, -13), (12, 0, 1, -1, 13)],  # leading below 20: none
            [],
        ]
    )
    pair = leading_os_pair(lep, 20.0)
    assert pair.pt.tolist() == [[50, 30], [], [], []]


def test_clean_removes_objects_near_others() -> None:
    jets = leptons([[(60, 0.0, 0.0, 0, 0), (50, 2.0, 2.0, 0, 0)]])
    lep = leptons([[(40, 0.1, 0.1, 1, -11)]])
    assert clean(jets, lep, 0.4).pt.tolist() == [[50]]
    assert clean(jets, lep, 0.0).pt.tolist() == [[60, 50]]


def test_sfos_and_merge() -> None:
    mu = leptons([[(30, 0, 0, 1, -13)], [(30, 0, 0, 1, -13), (20, 0, 1, -1, 13)]])
    el = leptons([[(40, 0, 0, -1, 11)], [(10, 0, 0, 1, -11)]])
    merged = merge_leptons(mu, el)
    assert merged.pt.tolist() == [[40, 30], [30, 20, 10]]
    assert has_sfos_pair(merged).tolist() == [False, True]
    assert np.asarray(has_sfos_pair(merged)).dtype == np.bool_


@pytest.mark.parametrize("dr", [0.39, 0.41])
def test_clean_threshold(dr: float) -> None:
    jets = leptons([[(60, dr, 0.0, 0, 0)]])
    lep = leptons([[(40, 0.0, 0.0, 1, -11)]])
    assert len(clean(jets, lep, 0.4)[0]) == (1 if dr > 0.4 else 0)
