"""ETag / If-Match optimistic concurrency for mutable resources (a `version` column)."""

from shared.problems import PreconditionFailed, PreconditionRequired


def etag_for(version: int) -> str:
    return f'"v{version}"'


def expected_version(if_match: str | None) -> int:
    """The version an update was based on, from its If-Match header (required)."""
    if not if_match:
        raise PreconditionRequired("Send If-Match with the ETag you read; updates need it")
    value = if_match.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.startswith("v") or not value[1:].isdigit():
        raise PreconditionFailed("If-Match does not carry an ETag this API returned")
    return int(value[1:])


def check_version(if_match: str | None, current_version: int) -> None:
    if expected_version(if_match) != current_version:
        raise PreconditionFailed("The resource changed since you read it; read it again",
                                 headers={"ETag": etag_for(current_version)})
