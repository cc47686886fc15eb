"""The calendar and sizes the monthly bill is counted in: a 730-hour month, binary gigabytes."""

from __future__ import annotations

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
GB = 1024**3
