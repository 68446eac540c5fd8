"""Marketing insights: segments and what they over-index on, creatives per segment, trends, gaps.

:mod:`~shopfuse.insights.stats` computes the numbers, :mod:`~shopfuse.insights.plots` draws them
(matplotlib, Agg) and :mod:`~shopfuse.insights.report` puts them on one self-contained HTML page
(``shopfuse report``).
"""
