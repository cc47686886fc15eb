"""The seed's estimate of the monthly cost per tier, and what is wrong in it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeedTier:
    label: str
    users: int
    monthly_usd: float


# The seed's estimate: ~$5 / ~$50 / ~$500 a month for thousands / tens of thousands / millions
# of users. Only these totals survive; what follows is wrong in it, besides the totals.
SEED_TIERS = (
    SeedTier("thousands of users", 1_000, 5.0),
    SeedTier("tens of thousands of users", 10_000, 50.0),
    SeedTier("millions of users", 1_000_000, 500.0),
)
SEED_INCONSISTENCIES = (
    "DynamoDB reads priced at $0.25 per 100,000: the list price was $0.25 per million, a "
    "tenth of that, and on-demand reads cost $0.125 per million since 2024-11-01, a twentieth.",
    "Lambda duration priced at $2.10 per million 100 ms calls: at 128 MB a million 100 ms calls "
    "are 12,500 GB-seconds, about $0.21, a tenth of that.",
    "The tiers grow 10x each while the users grow 10x and then 100x: from tens of thousands "
    "($50) to millions ($500) the cost per user would fall tenfold, with nothing to explain it.",
    "A total of ~$5 a month is below the fixed floor of the deployed stack: an ALB alone is "
    "~$16 a month, two API tasks ~$72, the Valkey cache's 100 MB minimum ~$6.",
)


def seed_tier_for(users: int) -> SeedTier | None:
    """The seed's tier of the same order of magnitude, if it gave one."""
    for tier in SEED_TIERS:
        if tier.users <= users < tier.users * 10:
            return tier
    return None
