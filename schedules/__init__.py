"""When to ingest: APScheduler jobs that call ingest.pipeline.sync (issue 5).

Empty for now; the CLI's ``trialmirror sync`` is the entry point the jobs will call.
"""
