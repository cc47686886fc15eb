"""The one layer that calls the services: a `Context` and plain arguments in, one service call,
domain values out. The schema (schema/) turns them into GraphQL types; nothing here knows it."""
