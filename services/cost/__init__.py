"""The cost model: AWS prices, the measured per-operation profile, and the monthly report."""
