"""The DynamoDB adapter: the table's key layout, the message store, the table's provisioning."""
