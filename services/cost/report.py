"""The printed cost report: per tier, each service's monthly cost, the total, and the seed's
estimate beside it. `server.py cost` prints `cost_report(...)`."""

from __future__ import annotations

from pathlib import Path

from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.bill import monthly_cost
from services.cost.dynamodb_report import capacity_section, retention_section, setup_line
from services.cost.line_items import SERVICES, TierCost
from services.cost.prices import PriceTable, load_prices
from services.cost.profile import Measurements, load_profile
from services.cost.seed_estimate import SEED_INCONSISTENCIES, seed_tier_for

DEFAULT_USERS = (1_000, 10_000, 1_000_000)
WIDTH = 34


def cost_report(
    users: list[int],
    profile_path: Path | None,
    prices_path: Path | None,
    usage: UsageProfile | None = None,
    assumptions: Assumptions | None = None,
) -> str:
    """The report for each number of users, from the measured profile (default:
    services/cost/default_profile.json) and the price table (default: services/cost/prices.json)."""
    measurements = load_profile(profile_path)
    prices = load_prices(prices_path)
    usage = usage or UsageProfile()
    assumptions = assumptions or Assumptions()
    tiers = _priced(users, measurements, prices, usage, assumptions)
    parts = [
        _heading(measurements, prices, profile_path, prices_path) + "\n" + setup_line(assumptions)
    ]
    parts += [_tier_table(tier) for tier in tiers]
    parts.append(_summary(tiers))
    parts.append(capacity_section(users, measurements, usage, prices, assumptions))
    parts.append(retention_section(users, measurements, usage, prices, assumptions))
    parts.append(_usage_lines(usage))
    parts.append(_seed_notes())
    return "\n\n".join(parts) + "\n"


def cost_tiers(
    users: list[int],
    profile_path: Path | None,
    prices_path: Path | None,
    usage: UsageProfile | None = None,
    assumptions: Assumptions | None = None,
) -> list[TierCost]:
    """Each tier's bill as the report prices it, from the same inputs (for the chart)."""
    measurements = load_profile(profile_path)
    prices = load_prices(prices_path)
    return _priced(users, measurements, prices, usage or UsageProfile(), assumptions)


def _priced(
    users: list[int],
    measurements: Measurements,
    prices: PriceTable,
    usage: UsageProfile,
    assumptions: Assumptions | None,
) -> list[TierCost]:
    assumptions = assumptions or Assumptions()
    return [monthly_cost(n, measurements, usage, prices, assumptions) for n in users]


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _heading(
    m: Measurements, prices: PriceTable, profile_path: Path | None, prices_path: Path | None
) -> str:
    dated = sorted({p.as_of for p in prices.prices.values() if p.as_of[:1].isdigit()})
    undated = sum(1 for p in prices.prices.values() if not p.as_of[:1].isdigit())
    return "\n".join(
        [
            "InboxQL: monthly AWS cost (us-east-1, on-demand prices, 730-hour month)",
            f"  measured profile: {profile_path or 'services/cost/default_profile.json'}"
            f" (measured {m.measured_at or 'at an unknown time'})",
            "  CPU per operation (API tasks, Lambda duration): services/cost/cpu_profile.json,"
            f" {m.cpu.source or 'not measured'}",
            f"    ms CPU: unreadCount {m.cpu.unread_count_ms:.2f}, inbox page executed "
            f"{m.cpu.inbox_page_executed_ms:.2f} / cached {m.cpu.inbox_page_cached_ms:.2f}, "
            f"send (API) {m.cpu.send_api_ms:.2f}, delivery (worker) "
            f"{m.cpu.delivery_worker_ms:.2f}, idle subscription "
            f"{m.cpu.idle_subscription_ms_per_hour:.2f} an hour",
            f"  prices: {prices_path or 'services/cost/prices.json'}"
            f" (compiled {prices.compiled_on}; sources dated {dated[0]} to {dated[-1]}, "
            f"{undated} undated; some not confirmed on AWS pages: see the file)",
        ]
    )


def _tier_table(tier: TierCost) -> str:
    seed = seed_tier_for(tier.users)
    seed_text = f"~{_money(seed.monthly_usd)} ({seed.label})" if seed else "no estimate"
    lines = [
        f"{tier.users:,} users",
        f"  {'service':<{WIDTH}} {'$/month':>12}   seed",
    ]
    for service, cost in tier.by_service().items():
        lines.append(f"  {service:<{WIDTH}} {_money(cost):>12}")
    lines.append(f"  {'total':<{WIDTH}} {_money(tier.total):>12}   {seed_text}")
    lines.append("  details:")
    for line in tier.lines:
        label = f"{line.service}: {line.item}"
        lines.append(
            f"    {label:<62} {line.quantity:>16,.1f} {line.unit:<10} {_money(line.cost):>11}"
        )
    return "\n".join(lines)


def _summary(tiers: list[TierCost]) -> str:
    header = f"  {'service':<{WIDTH}}" + "".join(f" {t.users:>14,}" for t in tiers)
    lines = ["Side by side ($/month; columns are users)", header]
    totals = [t.by_service() for t in tiers]
    for service in SERVICES:
        lines.append(
            f"  {service:<{WIDTH}}" + "".join(f" {_money(t[service]):>14}" for t in totals)
        )
    lines.append(f"  {'total':<{WIDTH}}" + "".join(f" {_money(t.total):>14}" for t in tiers))
    seeds = [seed_tier_for(t.users) for t in tiers]
    lines.append(
        f"  {'seed estimate':<{WIDTH}}"
        + "".join(f" {('~' + _money(s.monthly_usd)) if s else '-':>14}" for s in seeds)
    )
    lines.append(
        f"  {'per user':<{WIDTH}}"
        + "".join(f" {_money(t.total / t.users) if t.users else '-':>14}" for t in tiers)
    )
    return "\n".join(lines)


def _usage_lines(usage: UsageProfile) -> str:
    return "\n".join(
        [
            "Usage profile (per user per day; see UsageProfile in services/cost/assumptions.py)",
            f"  sends {usage.sends_per_day:g}, inbox pages {usage.inbox_pages_per_day:g} "
            f"(body cache hits {usage.body_cache_hit_ratio:.0%}, response cache hits "
            f"{usage.inbox_page_response_cache_hit_ratio:.0%}), message opens "
            f"{usage.message_opens_per_day:g}, conversation pages "
            f"{usage.conversation_pages_per_day:g}, markRead {usage.mark_reads_per_day:g}, "
            f"markAllRead {usage.mark_all_reads_per_day:g} of {usage.mark_all_read_size:g}",
            f"  conversation lists {usage.conversation_list_pages_per_day:g}, changes pages "
            f"{usage.changes_calls_per_day:g}, setTyping {usage.typing_calls_per_day:g} "
            f"({usage.typing_pushed_share:.0%} pushed)",
            f"  unreadCount queries {usage.unread_count_queries_per_day:g}, live sessions "
            f"{usage.live_sessions_per_day:g}, live connection hours "
            f"{usage.live_connection_hours_per_day:g}, body {usage.average_body_chars:g} chars, "
            f"clientMessageId on {usage.client_message_id_share:.0%} of sends, "
            f"{usage.history_days:g} days of messages, {usage.read_share:.0%} of them ever read",
        ]
    )


def _seed_notes() -> str:
    lines = ["The seed's estimate (~$5 / ~$50 / ~$500 a month) and what is wrong in it"]
    lines += [f"  - {note}" for note in SEED_INCONSISTENCIES]
    return "\n".join(lines)
