"""Mirror sites: pages read as labelled text blocks, one table per site.

- :mod:`trialmirror.ingest.parsing.mirror.page`: HTML -> the visible text lines, markup-independent;
- :mod:`trialmirror.ingest.parsing.mirror.engine`: lines -> labelled sections -> a Record, by a Layout;
- :mod:`trialmirror.ingest.parsing.mirror.values`: how mirrors word values, read back.

The sites themselves (``ingest/sources/ctv.py``, ``ingest/sources/ictrp.py``) are
a Layout and a URL rule each.
"""
