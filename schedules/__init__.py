"""The scheduled service (``trialmirror run``).

- :mod:`trialmirror.schedules.service`: APScheduler 3 jobs over the watchlist, leases, clean stop;
- its tables (the watchlist, leases, cursors, the delivery log) are the store's:
  :mod:`trialmirror.store.service_state`;
- :mod:`trialmirror.schedules.notify`: the signed webhook and the Atom feed, driven by the event log.
"""
