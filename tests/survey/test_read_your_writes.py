"""Create, then invite, on the next call: the survey service asks the customer service about a
customer whose `customer.created` has not arrived (issue 11 item 6, which the scoped customer
references of issue 10 made necessary). Both services run in process; no relay runs, so no event
ever arrives and every answer below comes from the read-through."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.customer.app import create_app as create_customer_app
from services.customer.settings import CustomerSettings
from services.survey.app import create_app as create_survey_app
from services.survey.customer_source import CustomerSource
from services.survey.models import CustomerConsent
from services.survey.repository import SurveyRepository
from services.survey.settings import SurveySettings
from tests.support.databases import unit_database_url
from tests.support.org_directory import stand_in_directory
from shared.contracts.customer import SurveyConsentRecord
from tests.survey.conftest import ORGS, SECRET, as_, principal, published_survey
from tests.survey.test_invitations import SURVEY

CUSTOMER_SCOPES = frozenset({"customers:read", "customers:write"})


@pytest.fixture(scope="module")
async def customer_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    settings = CustomerSettings(database_url=await unit_database_url(tmp_path_factory, "ryw_customer"),
                                internal_secret=SECRET, relay_enabled=False, birthday_job_enabled=False,
                                log_json=False, log_level="WARNING")
    app = create_customer_app(settings, migrate=True, org_directory=stand_in_directory(ORGS, SECRET))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def survey_app(tmp_path_factory: pytest.TempPathFactory, customer_app: FastAPI) -> AsyncIterator[FastAPI]:
    settings = SurveySettings(database_url=await unit_database_url(tmp_path_factory, "ryw_survey"),
                              internal_secret=SECRET, relay_enabled=False, jobs_enabled=False, log_json=False)
    customers = CustomerSource("http://customer.test", transport=httpx.ASGITransport(customer_app))
    app = create_survey_app(settings, migrate=True, directory=stand_in_directory(ORGS, SECRET), customers=customers)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def survey(survey_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(survey_app), base_url="http://survey") as client:
        yield client


@pytest.fixture(scope="module")
async def customers(customer_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(customer_app), base_url="http://customer") as client:
        yield client


async def new_customer(customers: httpx.AsyncClient, dealer: str, *, survey_consent: bool) -> str:
    created = await customers.post("/v1/customers", headers=as_(dealer, CUSTOMER_SCOPES), json={
        "dealer_code": dealer, "name": "Zhao Lei", "consent": {"survey": survey_consent}})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def invite(survey: httpx.AsyncClient, survey_id: str, customer_id: str, dealer: str, caller: str) -> httpx.Response:
    return await survey.post("/v1/survey-invitations", headers=as_(caller), json={
        "survey_id": survey_id, "customer_id": customer_id, "dealer_code": dealer, "channel": "sms"})


class TestCreateThenInvite:
    async def test_a_consenting_customer_is_invited_on_the_next_call(self, survey, customers) -> None:
        survey_id = (await published_survey(survey, SURVEY))["id"]
        someone = await new_customer(customers, "D1", survey_consent=True)
        answer = await invite(survey, survey_id, someone, "D1", "D1")
        assert answer.status_code == 201, answer.text

    async def test_a_customer_without_consent_gets_the_409_at_once(self, survey, customers) -> None:
        survey_id = (await published_survey(survey, SURVEY))["id"]
        someone = await new_customer(customers, "D1", survey_consent=False)
        answer = await invite(survey, survey_id, someone, "D1", "D1")
        assert answer.status_code == 409 and answer.json()["reason"] == "no_consent", answer.text

    async def test_a_siblings_new_customer_is_unknown_like_one_that_never_existed(self, survey, customers) -> None:
        survey_id = (await published_survey(survey, SURVEY))["id"]
        siblings = await new_customer(customers, "D2", survey_consent=True)
        foreign = await invite(survey, survey_id, siblings, "D1", "D1")
        unknown = await invite(survey, survey_id, str(uuid.uuid4()), "D1", "D1")
        assert foreign.status_code == unknown.status_code == 422
        assert foreign.json()["errors"] == unknown.json()["errors"] == [{"field": "customer_id", "message": "unknown customer"}]

    async def test_a_customer_named_for_another_dealer_is_unknown(self, survey, customers) -> None:
        survey_id = (await published_survey(survey, SURVEY))["id"]
        someone = await new_customer(customers, "D1", survey_consent=True)
        answer = await invite(survey, survey_id, someone, "D2", "DN")
        assert answer.status_code == 422, answer.text
        assert (await invite(survey, survey_id, someone, "D1", "DN")).status_code == 201



class TestTheEventArrivingMeanwhile:
    async def test_a_consent_row_the_event_is_inserting_meanwhile_is_kept_not_a_500(
            self, survey: httpx.AsyncClient, survey_app: FastAPI) -> None:
        """The relay applies `customer.created` while the look-up's answer is being kept: the event's
        row is written but not committed yet. Keeping the answer waits for it and keeps that row
        (a plain INSERT after a SELECT that could not see it failed on the primary key: a 500)."""
        if survey_app.state.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: the two transactions cannot overlap")
        someone = uuid.uuid4()
        record = SurveyConsentRecord(customer_id=someone, dealer_code="D1", org_path=ORGS["D1"]["path"],
                                     survey=True, erased=False)
        async with survey_app.state.sessions() as event_session, survey_app.state.sessions() as lookup_session:
            async with event_session.begin():
                event_session.add(CustomerConsent(customer_id=someone, dealer_code="D1", org_path=ORGS["D1"]["path"],
                                                  survey=True, erased=False))
                await event_session.flush()  # written, not committed: the look-up's INSERT must wait
                async with lookup_session.begin():
                    keeping = asyncio.create_task(
                        SurveyRepository(lookup_session, principal("D1")).remember_consent(record))
                    await asyncio.sleep(0.3)
                    assert not keeping.done()
                    await event_session.commit()
                    kept = await keeping
            assert kept.customer_id == someone and kept.survey is True
