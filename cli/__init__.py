"""The ``trialmirror`` command: a thin face over ingest.pipeline and the store."""
