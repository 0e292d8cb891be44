"""Webhooks: subscriptions per organisation, fan-out of consumed events, signed delivery."""
