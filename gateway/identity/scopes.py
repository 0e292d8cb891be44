"""The scopes a key or a user may hold (API.md), and the rule that a grant never exceeds its grantor."""

from shared.problems import Forbidden, UnprocessableContent

ALL_SCOPES: frozenset[str] = frozenset({
    "customers:read", "customers:write",
    "surveys:read", "surveys:write",
    "complaints:read", "complaints:write",
    "kpi:read", "kpi:write", "orgs:admin", "pii:read", "webhooks:admin",
})


def check_grant(requested: list[str], grantor_scopes: frozenset[str]) -> list[str]:
    """The requested scopes, sorted, if they exist and the grantor holds every one of them."""
    unknown = sorted(set(requested) - ALL_SCOPES)
    if unknown:
        raise UnprocessableContent(
            f"Unknown scopes: {', '.join(unknown)}",
            errors=[{"field": "scopes", "message": f"unknown scope '{scope}'"} for scope in unknown],
        )
    # "internal" (the system principal) holds every scope implicitly.
    beyond = sorted(s for s in set(requested) if s not in grantor_scopes and "internal" not in grantor_scopes)
    if beyond:
        raise Forbidden(f"You cannot grant scopes you do not hold: {', '.join(beyond)}")
    return sorted(set(requested))
