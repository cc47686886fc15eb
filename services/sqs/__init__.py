"""The SQS adapters: the delivery queue's producer and consumer, send batching, dead letters,
provisioning."""
