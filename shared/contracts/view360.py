"""The customer 360: one customer with what every service knows of them, assembled by the gateway.

Parts come from different services and are passed through as those services render them;
`unavailable` names the parts that could not be had (a service down or absent), so a
client shows what there is instead of failing. Each part has a named schema that says whose
rendering it is; its fields are that service's schema, kept there once, not copied here.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel

View360Part = Literal["vehicles", "visits", "survey_responses", "complaints", "interactions", "appointments"]


class View360Customer(RootModel[dict[str, Any]]):
    """The customer as `GET /v1/customers/{id}` renders it for the caller (CustomerRead), masked as there."""


class View360Vehicle(RootModel[dict[str, Any]]):
    """A vehicle the customer owns, as `GET /v1/vehicles` lists it (VehicleRead)."""


class View360Visit(RootModel[dict[str, Any]]):
    """A service visit of the customer, as `GET /v1/service-visits` lists it (ServiceVisitRead)."""


class View360SurveyResponse(RootModel[dict[str, Any]]):
    """A survey response of the customer, as `GET /v1/survey-responses` lists it (ResponseRead)."""


class View360Complaint(RootModel[dict[str, Any]]):
    """A complaint of the customer, as `GET /v1/complaints` lists it (ComplaintRead)."""


class View360Interaction(RootModel[dict[str, Any]]):
    """A contact with the customer, as `GET /v1/interactions` lists it (InteractionRead), masked as there."""


class View360Appointment(RootModel[dict[str, Any]]):
    """A service appointment of the customer, as `GET /v1/appointments` lists it (AppointmentRead)."""


class Customer360(BaseModel):
    customer: View360Customer
    vehicles: list[View360Vehicle] = Field(default_factory=list)
    visits: list[View360Visit] = Field(default_factory=list)
    survey_responses: list[View360SurveyResponse] = Field(default_factory=list)
    complaints: list[View360Complaint] = Field(default_factory=list)
    interactions: list[View360Interaction] = Field(default_factory=list)
    appointments: list[View360Appointment] = Field(default_factory=list)
    unavailable: list[View360Part] = Field(default_factory=list)
