"""The JSON API of the customer's survey page (`/s/{token}` on the gateway). No principal: the
token is the credential, so these are the only routes that work without an internal token."""

from fastapi import APIRouter, Response

from services.survey import responses
from services.survey.deps import PublicRepo
from services.survey.schemas import AnswersIn, PublicResponseRead, PublicSurvey
from shared.problems import problem_responses

router = APIRouter(tags=["public survey page"])


@router.get("/v1/public/surveys/{token}", responses=problem_responses(404, 410))
async def read_survey(token: str, repo: PublicRepo) -> PublicSurvey:
    """The survey version an invitation pins, to render (404 unknown link, 410 expired or answered)."""
    return await responses.public_survey(repo, token)


@router.post("/v1/public/surveys/{token}/responses", status_code=201, responses=problem_responses(404, 409, 410, 422))
async def submit_answers(token: str, data: AnswersIn, repo: PublicRepo, response: Response) -> PublicResponseRead:
    """Answer once; the same answers again return the first result (200), other answers 409."""
    stored, created = await responses.submit(repo, token, data.answers)
    if not created:
        response.status_code = 200
    return responses.public_read(stored)
