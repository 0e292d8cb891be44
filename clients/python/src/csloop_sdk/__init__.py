"""CSLoop's Python SDK: `from csloop_sdk import CSLoop`."""

from csloop_sdk import models
from csloop_sdk.client import CSLoop
from csloop_sdk.errors import (BadRequest, Conflict, CSLoopError, Forbidden, NotFound, PayloadTooLarge,
                               PreconditionFailed, PreconditionRequired, RateLimited, ServerError,
                               ServiceUnavailable, Unauthorized, ValidationFailed)
from csloop_sdk.pagination import Pages
from csloop_sdk.transport import ClientCredentials

__version__ = "0.1.0"
__all__ = ["BadRequest", "CSLoop", "CSLoopError", "ClientCredentials", "Conflict", "Forbidden", "NotFound", "Pages",
           "PayloadTooLarge", "PreconditionFailed", "PreconditionRequired", "RateLimited", "ServerError",
           "ServiceUnavailable", "Unauthorized", "ValidationFailed", "models"]
