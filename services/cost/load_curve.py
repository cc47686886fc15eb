"""The daily load curve: the share of a day's traffic in each hour, which provisioned capacity
has to follow (on-demand capacity bills requests, whenever they come)."""

from __future__ import annotations

from collections.abc import Sequence

from services.cost.errors import CostModelError

HOURS_PER_DAY = 24

# Percent of a day's requests in each hour, 00:00 to 23:00 in the users' time zone. An
# assumption, shaped like a consumer chat product whose users live in one region: quiet from
# 1 am, lowest at 4 am (0.6%, a seventh of the average hour), a working-day plateau near the
# average, and an evening peak at 9 pm (8%, 1.92x the average hour). Users spread over many
# time zones flatten it (peak nearer 1.3x), which makes provisioned capacity cheaper still.
# fmt: off
_PERCENT_BY_HOUR = (
    3.0, 2.0, 1.2, 0.8, 0.6, 0.8, 1.6, 3.0, 4.2, 4.6, 4.8, 5.0,
    5.2, 5.0, 4.6, 4.6, 4.8, 5.2, 6.0, 6.6, 7.4, 8.0, 6.6, 4.4,
)
# fmt: on
DEFAULT_DAILY_LOAD_CURVE: tuple[float, ...] = tuple(percent / 100 for percent in _PERCENT_BY_HOUR)


def checked_curve(curve: Sequence[float]) -> tuple[float, ...]:
    """The curve as shares summing to 1, refused unless it has 24 hours, none negative."""
    if len(curve) != HOURS_PER_DAY:
        raise CostModelError(f"a daily load curve has 24 hourly shares, not {len(curve)}")
    if any(share < 0 for share in curve) or sum(curve) <= 0:
        raise CostModelError("a daily load curve's shares are >= 0 and not all 0")
    total = sum(curve)
    return tuple(share / total for share in curve)


def peak_to_average(curve: Sequence[float]) -> float:
    """The busiest hour's traffic over the average hour's."""
    shares = checked_curve(curve)
    return max(shares) * HOURS_PER_DAY


def hourly_rates(units_per_day: float, curve: Sequence[float]) -> tuple[float, ...]:
    """Units a second in each hour of the day, each hour's average."""
    return tuple(units_per_day * share / 3600 for share in checked_curve(curve))
