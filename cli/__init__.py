"""The ``trialmirror`` command: a thin face over trialmirror.ingest.runs.pipeline and the store."""
