"""The Redis adapters: clients for one node or a cluster, the event hub, the body cache, the send
limit, persisted queries."""
