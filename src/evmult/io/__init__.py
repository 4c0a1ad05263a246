"""Reading and writing, with no knowledge of models.

* :mod:`evmult.io.layout`: the common object layout every reader produces and the
  NanoAOD names the writers share with the readers;
* :mod:`evmult.io.readers`: input formats, pre-flight checks, normalisation;
* :mod:`evmult.io.csv`: the DarkMachines CSV reader;
* :mod:`evmult.io.tables`: event tables on disk (parquet with their metadata);
* :mod:`evmult.io.files`: atomic files and SHA-256 provenance;
* :mod:`evmult.io.writers`: ROOT and parquet writers of event streams.
"""
