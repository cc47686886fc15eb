"""The domain, its rules and its adapters (DynamoDB, SQS, Redis), settings, local stack."""
