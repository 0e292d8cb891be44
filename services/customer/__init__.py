"""The customer service: customers, vehicles, deliveries, service visits, prospects, follow-ups."""
