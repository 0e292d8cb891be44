"""The JSON API of the customer's survey page (`/s/{token}` on the gateway). No principal: the
token is the credential, so these are the only routes that work without an internal token."""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

from services.survey import integrity, responses, review
from services.survey.deps import PublicRepo
from services.survey.repository import SurveyRepository, TokenRepository
from services.survey.schemas import AnswersIn, PublicResponseRead, PublicSurvey
from shared.auth import INTERNAL_HEADER, system_principal
from shared.problems import problem_responses
from shared.db import core_transaction
from shared.rls import SYSTEM_PATH
from shared.service_app import request_org_path
from shared.strict_query import refuse_unknown_query_parameters

router = APIRouter(tags=["public survey page"])

# The submission is the hot path of the public page (issue 12): its body is parsed and checked
# from the raw bytes in one pass by an adapter built once, and its answer serialised by one,
# instead of FastAPI's body, dependency and response-model machinery per request. The
# OpenAPI document still names both models.
_ANSWERS = TypeAdapter(AnswersIn)
_SUBMIT_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": AnswersIn.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


@router.get("/v1/public/surveys/{token}", responses=problem_responses(404, 410))
async def read_survey(token: str, repo: PublicRepo) -> PublicSurvey:
    """The survey version an invitation pins, to render (404 unknown link, 410 expired or answered)."""
    return await responses.public_survey(repo, token)


class _RequestRoute(APIRoute):
    """A route FastAPI documents from its endpoint's signature as usual, but runs as a plain call
    `endpoint(request, **path)`: no dependency solving, body or response pass. The endpoint
    reads its body and renders its answer itself; the app's query check runs here."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            await refuse_unknown_query_parameters(request)
            return await endpoint(request=request, **request.path_params)

        return handler


# What the gateway adds to a public submission (integrity_common.md). Trusted only on a request that
# carries a verified internal token: the gateway's, since it drops any internal token a client sends.
CLIENT_HASH, DEVICE_HASH, DEALER_NETWORK = "x-csloop-client-hash", "x-csloop-device-hash", "x-csloop-dealer-network"


def signals(request: Request) -> integrity.Signals:
    if request.headers.get(INTERNAL_HEADER) is None:  # its validity is checked by request_org_path
        return integrity.Signals()
    client, device = request.headers.get(CLIENT_HASH), request.headers.get(DEVICE_HASH)
    return integrity.Signals(client_hash=client[:64] if client else None, device_hash=device[:64] if device else None,
                             dealer_network=request.headers.get(DEALER_NETWORK) == "1")


async def submit_answers(token: str, request: Request) -> Response:
    """Answer once; the same answers again return the first result (200), other answers 409."""
    try:
        data = _ANSWERS.validate_json(await request.body())
    except ValidationError as exc:  # rendered as FastAPI's own body errors are (shared/problems.py)
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from exc
    # Validated before the transaction opens: a bad body costs no database work. The transaction
    # runs Core statements only, straight on the driver on PostgreSQL (shared.db.core_transaction).
    settings = request.app.state.settings
    async with core_transaction(request.app.state.sessions, request_org_path(request)) as statements:
        repo = TokenRepository(statements, request.app.state.pinned_versions)
        stored, created, spread = await responses.submit(repo, token, data.answers, signals(request), settings)
    if spread:
        # Rare (a group just completed; one joining a group flagged before has nothing to spread),
        # so kept off the hot path's one transaction: the earlier members get their flag in a
        # second one, under the system principal (any of the dealer's).
        async with request.app.state.sessions(info={"org_path": SYSTEM_PATH}) as session, session.begin():
            await review.flag_group(SurveyRepository(session, system_principal()), stored, spread, settings)
    if repo.events_recorded:  # committed: the relay sends them now rather than at its next pass
        request.app.state.relay.wake()
    return Response(responses.public_read(stored).model_dump_json(), status_code=201 if created else 200,
                    media_type="application/json")


router.add_api_route("/v1/public/surveys/{token}/responses", submit_answers, methods=["POST"], status_code=201,
                     response_model=PublicResponseRead, responses=problem_responses(404, 409, 410, 422),
                     openapi_extra=_SUBMIT_BODY, route_class_override=_RequestRoute)
