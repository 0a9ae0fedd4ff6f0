"""A run of one source: lock, pipeline, run record and incremental state."""
