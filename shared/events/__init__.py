"""Events: the CloudEvents envelope, the registry of event types, the outbox and its relay,
the publisher and the consumer runner. Services talk to each other only through these."""
