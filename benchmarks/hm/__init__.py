"""H&M-specific evaluation protocols, used by the benchmarks and their tests (not part of ``shopfuse``).

- :mod:`hm.protocols`: the in-shop and cross-shop photo-only search protocols (query sets, qrels);
- :mod:`hm.seller_queries`: Chinese queries as sellers wrote them, judged against H&M's columns;
- :mod:`hm.recommend`: the time split of H&M purchases for the recommendation benchmark.

Imported as ``hm``: the benchmark scripts run from ``benchmarks/`` (``python benchmarks/x.py``
puts that folder on ``sys.path``), and ``tests/conftest.py`` appends ``benchmarks/`` to
``sys.path`` so the tests import the same modules.
"""
