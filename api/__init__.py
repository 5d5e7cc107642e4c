"""The read-only HTTP API (``trialmirror serve``); see :mod:`api.app`."""
