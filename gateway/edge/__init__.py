"""The edge: what stands between the public and the services (routing, the proxy, body and rate limits, the merged OpenAPI, /metrics access)."""
