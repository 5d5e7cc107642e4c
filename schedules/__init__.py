"""The scheduled service (``trialmirror run``).

- :mod:`schedules.service`: APScheduler 3 jobs over the watchlist, leases, clean stop;
- :mod:`schedules.state`: the watchlist, leases, cursors and delivery log in the store;
- :mod:`schedules.notify`: the signed webhook and the Atom feed, driven by the event log.
"""
