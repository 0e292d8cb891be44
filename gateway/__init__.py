"""The gateway: identity, the organisation tree, routing to the services, aggregation."""
