"""The three coffea executors give identical event tables."""

from __future__ import annotations

import awkward as ak
import pytest

from evmult.coffea import extract


@pytest.fixture(scope="module")
def wz_file(shared):
    return shared("delphes/delphes_wz.root")


@pytest.fixture(scope="module")
def iterative(wz_file):
    return extract([wz_file], "wz", chunksize=15_000)


def test_futures_matches_iterative(wz_file, iterative) -> None:
    futures = extract([wz_file], "wz", executor="futures", workers=2, chunksize=15_000)
    assert ak.array_equal(futures, iterative)
    assert futures.attrs["evmult"]["cutflow"] == iterative.attrs["evmult"]["cutflow"]


def test_dask_localcluster_matches_iterative(wz_file, iterative) -> None:
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        dask = extract([wz_file], "wz", executor="dask", client=client, chunksize=15_000)
    assert ak.array_equal(dask, iterative)
    assert len(iterative) > 10_000


def test_csv_on_futures_matches_iterative(shared) -> None:
    path = shared("csv/darkmachines_mix.csv")
    one = extract([path], "zll", chunksize=1_000_000)  # one byte range
    many = extract([path], "zll", executor="futures", workers=2, chunksize=3_000)  # 14 ranges
    assert ak.array_equal(one, many)
    assert len(one) > 10_000


def test_without_the_dask_extra_the_dask_executor_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from evmult.coffea import dask_client
    from evmult.errors import EvmultError

    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if not installed
    with pytest.raises(EvmultError, match=r"pip install 'evmult\[dask\]'"):
        dask_client(2)
