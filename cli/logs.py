"""Log lines of the long-running commands: one per fetch, one per run, one per delivery, one
per source checked.

``--log-format text`` (default) is for people; ``json`` writes one JSON object a
line (``ts``, ``level``, ``message`` and the line's fields: ``event`` fetch | run | check
| delivery | service, ``source``, ``registry_id``, ``outcome``, ``error_family``
...) for log shippers. Lines go to stderr.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson


def _ts(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": _ts(record), "level": record.levelname.lower(), "message": record.getMessage(),
                **getattr(record, "fields", {})}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        extra = " ".join(f"{k}={v}" for k, v in fields.items()
                         if k in ("http_status", "duration_ms", "error_family", "error") and v is not None)
        text = f"{_ts(record)} {record.levelname:<7} {record.getMessage()}" + (f"  {extra}" if extra else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup(log_format: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger("trialmirror")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # APScheduler's own lines, in the same format (job added, job missed, ...).
    aps = logging.getLogger("apscheduler")
    aps.handlers[:] = [handler]
    aps.setLevel(logging.WARNING)
    aps.propagate = False
