"""The read-only HTTP API (``trialmirror serve``); see :mod:`trialmirror.api.app`."""
