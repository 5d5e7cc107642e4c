"""The scheduled service (``trialmirror run``).

- :mod:`trialmirror.schedules.service`: APScheduler 3 jobs over the watchlist, leases, clean stop;
- :mod:`trialmirror.schedules.state`: the watchlist, leases, cursors and delivery log in the store;
- :mod:`trialmirror.schedules.notify`: the signed webhook and the Atom feed, driven by the event log.
"""
