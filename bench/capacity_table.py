"""The capacity benchmark's printed table: one row per operation measured."""

from __future__ import annotations

from typing import Any

from services.delivery import BATCH_SIZE


def format_table(result: dict[str, Any]) -> str:
    header = (
        f"{'operation':<24} {'RRU':>7} {'WRU':>7}  {'SQS req':>7} {'billed':>6}  "
        f"{'Redis':>5} {'ECPU':>5}  DynamoDB by table/index (read/write); calls"
    )
    lines = [header, "-" * len(header)]
    for name, op in result["operations"].items():
        ddb = op["dynamodb"]
        parts = ", ".join(
            f"{key} {u['read_units']:g}/{u['write_units']:g}"
            for key, u in ddb["by_table_index"].items()
        )
        calls = ", ".join(f"{k} {v:g}" for k, v in ddb["calls"].items())
        redis = sum(op["redis_commands"].values())
        ecpu = op["redis_ecpus"] + op["redis_push_ecpus"]
        extra = f"  hit {op['cache_hit_ratio']:.0%}" if "cache_hit_ratio" in op else ""
        lines.append(
            f"{name:<24} {ddb['read_units']:>7g} {ddb['write_units']:>7g}  "
            f"{sum(op['sqs_requests'].values()):>7g} {op['sqs_billed_requests']:>6g}  "
            f"{redis:>5g} {ecpu:>5g}  {parts}; {calls}{extra}"
        )
    lines.append("")
    lines.append(
        "Per operation; send* rows are per message (the worker part amortised over batches of "
        f"{BATCH_SIZE}). SQS 'billed' counts 64 KB chunks. ECPU is an estimate."
    )
    return "\n".join(lines)
