"""The cost model: what InboxQL costs a month on AWS, from measured capacity per operation and
a usage profile, and the monthly report.

Pure functions: the only I/O is `prices.load_prices(path)`, `profile.load_profile(path)` and
`cpu.load_cpu_profile(path)`.
Inputs:

- `profile.Measurements`: per-operation DynamoDB units, SQS requests and Redis ECPUs, as
  measured by `python -m bench.capacity` (its JSON, `default_profile.json`, is the default);
- `cpu.CpuCosts`: CPU milliseconds per operation, as the benchmark suite measures them
  (`python -m bench --write-cpu-profile`; its JSON, `cpu_profile.json`), which size the API
  tasks and the Lambda duration;
- `assumptions.UsageProfile`: what an average user does a day, and when (`load_curve`: the
  share of the day's traffic in each hour); the defaults are stated there;
- `assumptions.Assumptions`: how it is deployed (Lambda worker, API tasks, load balancer, and
  DynamoDB's capacity mode, table class and retention of read messages);
- `prices.PriceTable`: `prices.json`, every price with its source and date.

`bill.monthly_cost(users, ...)` gives line items per service (`line_items.TierCost`), from a
user's day of traffic (`workload`); DynamoDB's come from `dynamodb_bill` (`capacity_mode`: what
auto-scaling holds through the day; `retention`: what the table stores).
`seed_estimate.SEED_TIERS` holds the seed's estimate; `report.cost_report` prints it all, with
`dynamodb_report`'s comparison of capacity modes, table classes and retentions.
"""
