"""Converters from the shared data sets to benchmark inputs (benchmark code, imported as ``data``).

hetPQA -> the Q&A contract; AdvertiseGen and H&M -> copy catalogues with held-out references.
"""
