"""OAuth2 client credentials (RFC 6749 4.4) for DMS systems, beside API keys."""
