"""Mirror sites: pages read as labelled text blocks, one table per site.

- :mod:`ingest.mirror.page`: HTML -> the visible text lines, markup-independent;
- :mod:`ingest.mirror.engine`: lines -> labelled sections -> a Record, by a Layout;
- :mod:`ingest.mirror.values`: how mirrors word values, read back.

The sites themselves (``ingest/sources/ctv.py``, ``ingest/sources/ictrp.py``) are
a Layout and a URL rule each.
"""
