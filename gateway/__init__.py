"""The gateway, one sub-package per job: identity, edge (routing, the proxy), web pages, integrations."""
