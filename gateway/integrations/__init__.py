"""What connects the gateway to integrators' systems: webhooks out, OAuth clients in."""
