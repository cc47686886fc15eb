"""Contract suites: one set of cases run against an in-memory fake and the real adapter alike."""
