"""From the wire to the store: HTTP, sources, parsing helpers, diff, store, pipeline."""
