"""From the wire to a parsed capture, and the runs that drive it.

- the wire, at this level: :mod:`.http` (the one polite session; the settings and the error
  tree it uses are the package root's, :mod:`trialmirror.settings`, :mod:`trialmirror.errors`);
- :mod:`.parsing`: text, criteria, abbreviations and the mirror-page engine (pure functions);
- :mod:`.sources`: one module per source, each meeting the one source contract;
- :mod:`.runs`: the pipeline (one loop for every source), bulk sync and reparse, above the store.
"""
