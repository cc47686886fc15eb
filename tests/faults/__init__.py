"""Fault-injection runs against the real local stack, each judged by `tests.faults.checker`."""
