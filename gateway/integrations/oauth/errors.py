"""Token-endpoint errors in RFC 6749 5.2's shape, `{error, error_description}`: OAuth2 client
libraries parse that, not problem+json, so the token endpoint alone answers this way."""

from fastapi import Request
from fastapi.responses import JSONResponse


class OAuthError(Exception):
    def __init__(self, error: str, description: str, *, status: int = 400, basic_auth: bool = False) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.basic_auth = basic_auth


def oauth_error_response(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    status = exc.status
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    # RFC 6749 5.2: a client that authenticated with HTTP Basic gets 401 and a challenge.
    if exc.error == "invalid_client" and exc.basic_auth:
        status = 401
        headers["WWW-Authenticate"] = 'Basic realm="csloop", charset="UTF-8"'
    return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=status, headers=headers)
