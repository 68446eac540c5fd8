"""Scale-out work over a cluster (``shopfuse ingest --ray``): see :mod:`shopfuse.distributed.ray_ingest`."""
