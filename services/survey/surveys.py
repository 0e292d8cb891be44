"""Survey use cases: create (from a template or a full definition), edit the draft, publish a version.

A published version never changes: it is a copy of the draft at publishing time. Edits
change the draft only, and the next publish freezes version n+1. Invitations pin the newest
published version, so a response always refers to the version it answered.
"""

import uuid
from typing import Any

from pydantic import ValidationError

from services.survey import definition as defs
from services.survey import templates
from services.survey.models import Survey, SurveyVersion
from services.survey.repository import SurveyRepository
from services.survey.schemas import (DefinitionRead, SurveyCreate, SurveyRead, SurveyUpdate, SurveyVersionRead,
                                     TemplateRead)
from shared.auth import Principal
from shared.db import utcnow
from shared.etag import check_version
from shared.org_path import OrgPath
from shared.problems import Conflict, Forbidden, NotFound, UnprocessableContent, validation_errors


def list_templates() -> list[TemplateRead]:
    return [TemplateRead(name=name, **templates.template(name).model_dump()) for name in templates.TEMPLATES]


def checked(raw: dict[str, Any]) -> defs.Definition:
    """A definition that passed both the field checks and the cross-field rules, or 422."""
    try:
        definition = defs.Definition.model_validate(raw)
    except ValidationError as exc:
        raise UnprocessableContent("The survey definition is invalid", errors=validation_errors(exc.errors())) from exc
    if errors := defs.problems(definition):
        raise UnprocessableContent("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors)
    return definition


def to_read(survey: Survey) -> SurveyRead:
    return SurveyRead(
        id=survey.id, code=survey.code, template=survey.template, org_code=survey.org_code,
        org_path=survey.org_path, published_version=survey.published_version,
        draft_changed=survey.draft_changed, version=survey.version, created_at=survey.created_at,
        updated_at=survey.updated_at, **DefinitionRead.model_validate(survey.draft).model_dump(),
    )


def version_read(survey: Survey, version: SurveyVersion) -> SurveyVersionRead:
    return SurveyVersionRead(survey_id=survey.id, code=survey.code, version=version.number,
                             published_at=version.published_at,
                             **DefinitionRead.model_validate(version.definition).model_dump())


def _draft_of(data: SurveyCreate) -> dict[str, Any]:
    fields = data.model_dump(exclude_none=True, exclude={"template", "code"})
    if data.template is None:
        return fields
    return {**templates.TEMPLATES[data.template](), **fields}


async def create_survey(repo: SurveyRepository, data: SurveyCreate) -> Survey:
    """The survey belongs to the caller's org and serves every org below it."""
    definition = checked(_draft_of(data))
    code = data.code or data.template or ""
    owner: Principal = repo.principal
    if await repo.survey_with_code(owner.org_path, code):
        raise Conflict(f"Your organisation already has a survey '{code}'",
                       errors=[{"field": "code", "message": "already used"}])
    survey = Survey(org_code=owner.org_code, org_path=owner.org_path, code=code, kind=definition.kind,
                    template=data.template, draft=definition.model_dump(mode="json"), draft_changed=True, version=1)
    await repo.add(survey)
    return survey


async def _owned(repo: SurveyRepository, survey_id: uuid.UUID) -> Survey:
    """A survey the caller may change: its own org's or one below. Above-owned surveys are read-only."""
    survey = await repo.get_visible(Survey, survey_id)
    if not repo.principal.sees(survey.org_path):
        raise Forbidden(f"Survey {survey_id} belongs to {survey.org_code}; only it (or an org above) edits it")
    return survey


async def update_survey(repo: SurveyRepository, survey_id: uuid.UUID, data: SurveyUpdate,
                        if_match: str | None) -> Survey:
    survey = await _owned(repo, survey_id)
    check_version(if_match, survey.version)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    definition = checked({**survey.draft, **changes})
    survey.draft = definition.model_dump(mode="json")
    survey.draft_changed = True
    survey.version += 1
    survey.updated_at = utcnow()
    await repo.flush()
    return survey


async def publish(repo: SurveyRepository, survey_id: uuid.UUID) -> tuple[Survey, SurveyVersion]:
    """Freeze the draft as the next version; publishing an unchanged draft returns the current one."""
    survey = await _owned(repo, survey_id)
    if not survey.draft_changed and survey.published_version is not None:
        version = await repo.version(survey.id, survey.published_version)
        assert version is not None
        return survey, version
    number = (survey.published_version or 0) + 1
    version = SurveyVersion(survey_id=survey.id, number=number, org_path=survey.org_path,
                            definition=checked(survey.draft).model_dump(mode="json"))
    await repo.add(version)
    survey.published_version = number
    survey.draft_changed = False
    survey.version += 1
    await repo.flush()
    return survey, version


async def get_version(repo: SurveyRepository, survey_id: uuid.UUID, number: int) -> tuple[Survey, SurveyVersion]:
    survey = await repo.get_visible(Survey, survey_id)
    version = await repo.version(survey.id, number)
    if version is None:
        raise NotFound(f"Survey {survey_id} has no version {number}")
    return survey, version


async def newest_definition(repo: SurveyRepository, survey_id: uuid.UUID) -> defs.Definition | None:
    survey = await repo.get_visible(Survey, survey_id)
    if survey.published_version is None:
        return None
    _, version = await get_version(repo, survey.id, survey.published_version)
    return defs.Definition.model_validate(version.definition)


async def standard_survey(repo: SurveyRepository, dealer_path: str, template: str) -> Survey:
    """The survey an event-made invitation uses: the nearest published one from `template`.

    When no org above the dealer has one yet, the network's top org gets the template as its
    standard survey, published, so automatic invitations work from day one.
    """
    kind = templates.TEMPLATES[template]()["kind"]
    survey = await repo.nearest_published(dealer_path, kind=kind, template=template)
    if survey is not None:
        return survey
    top_path = OrgPath(dealer_path).at_depth(1)
    top = top_path.code or ""
    survey = await repo.survey_with_code(top_path, template)
    if survey is None:
        survey = Survey(org_code=top or "*", org_path=top_path, code=template, kind=kind, template=template,
                        draft=checked(templates.TEMPLATES[template]()).model_dump(mode="json"),
                        draft_changed=True, version=1)
        await repo.add(survey)
    survey, _ = await publish(repo, survey.id)
    return survey
