"""The customer 360: one customer with what every service knows of them, assembled by the gateway.

Parts come from different services and are passed through as those services render them;
`unavailable` names the parts that could not be had (a service down or absent), so a
client shows what there is instead of failing.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

View360Part = Literal["vehicles", "visits", "survey_responses", "complaints"]


class Customer360(BaseModel):
    customer: dict[str, Any]
    vehicles: list[dict[str, Any]] = Field(default_factory=list)
    visits: list[dict[str, Any]] = Field(default_factory=list)
    survey_responses: list[dict[str, Any]] = Field(default_factory=list)
    complaints: list[dict[str, Any]] = Field(default_factory=list)
    unavailable: list[View360Part] = Field(default_factory=list)
