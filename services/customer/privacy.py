"""What personal data one caller sees of a customer or a prospect: the only place a record of
the customer service becomes a response body, so every read and write answer is masked alike.

Two rules (API.md, "Conventions" and "Retention, value and campaigns"):
- phone and e-mail are whole only with the `pii:read` scope;
- above the record's dealer (a manufacturer or distributor), a customer who does not share
  with the manufacturer is shown as a first character, masked contacts and no birth date,
  even with `pii:read`. Prospects have no such consent, so above the dealer none shares.
The dealer itself, and any key of that dealer, sees its own records by `pii:read` alone.
"""

from dataclasses import dataclass
from typing import Any

from services.customer import domain
from services.customer.models import Customer, Interaction, Prospect
from services.customer.schemas import CustomerRead, CustomerValue, InteractionRead, ProspectRead
from shared.auth import Principal
from shared.contracts.customer import Consent


@dataclass(frozen=True)
class PiiView:
    caller_path: str
    pii: bool
    # Service-to-service calls (the system principal) are the suite's own plumbing, not a
    # caller above the dealer: they see what they were given the data for.
    internal: bool = False

    @classmethod
    def of(cls, principal: Principal) -> "PiiView":
        return cls(principal.org_path, principal.has_scope("pii:read"), "internal" in principal.scopes)

    def shows_person(self, org_path: str, *, shares_with_manufacturer: bool) -> bool:
        return self.internal or domain.shows_person(self.caller_path, org_path,
                                                    shares_with_manufacturer=shares_with_manufacturer)

    def customer(self, customer: Customer, standing: Any) -> CustomerRead:
        """`standing`: the customer's lifecycle and value figures (a customer_standing row or a row
        carrying its columns; None, or a null lifecycle, when none is stored: no visit seen yet).
        They follow the person: above the dealer, nothing of a customer who does not share."""
        # An erased customer has nothing personal left to hide; "(erased)" stays readable.
        person = customer.erased_at is not None or self.shows_person(
            customer.org_path, shares_with_manufacturer=customer.consent_share_with_manufacturer)
        sharing = self.shows_person(customer.org_path, shares_with_manufacturer=customer.consent_share_with_manufacturer)
        phone, email = domain.masked_contact(customer.phone, customer.email, pii=self.pii and person)
        return CustomerRead(
            id=customer.id, external_id=customer.external_id, dealer_code=customer.dealer_code,
            org_path=customer.org_path, name=customer.name if person else domain.masked_name(customer.name),
            phone=phone, email=email, birth_date=customer.birth_date if person else None, city=customer.city,
            erased=customer.erased_at is not None,
            consent=Consent(survey=customer.consent_survey, marketing=customer.consent_marketing,
                            share_with_manufacturer=customer.consent_share_with_manufacturer),
            version=customer.version, created_at=customer.created_at, updated_at=customer.updated_at,
            **(_standing(standing) if sharing else {}),
        )

    def prospect(self, prospect: Prospect) -> ProspectRead:
        person = self.shows_person(prospect.org_path, shares_with_manufacturer=False)
        phone, _ = domain.masked_contact(prospect.phone, None, pii=self.pii and person)
        return ProspectRead(
            id=prospect.id, dealer_code=prospect.dealer_code,
            name=prospect.name if person else domain.masked_name(prospect.name), phone=phone,
            intended_model=prospect.intended_model, level=prospect.level,  # type: ignore[arg-type]
            source=prospect.source, version=prospect.version, created_at=prospect.created_at,
        )

    def interaction(self, interaction: Interaction, *, shares_with_manufacturer: bool) -> InteractionRead:
        """`shares_with_manufacturer`: the consent of the interaction's customer (a prospect or an
        unknown caller gives none). The summary is free text about the person, so it goes
        where their name would not."""
        person = self.shows_person(interaction.org_path, shares_with_manufacturer=shares_with_manufacturer)
        phone, _ = domain.masked_contact(interaction.phone, None, pii=self.pii and person)
        return InteractionRead(
            id=interaction.id, dealer_code=interaction.dealer_code, customer_id=interaction.customer_id,
            prospect_id=interaction.prospect_id, phone=phone, channel=interaction.channel,  # type: ignore[arg-type]
            direction=interaction.direction, reason=interaction.reason,  # type: ignore[arg-type]
            summary=interaction.summary if person else None, agent=interaction.agent,
            started_at=interaction.started_at, duration_s=interaction.duration_s, created_at=interaction.created_at,
            updated_at=interaction.updated_at,
        )


def _standing(standing: Any) -> dict[str, Any]:
    if standing is None or standing.lifecycle is None:
        return {"lifecycle": "prospect", "value": CustomerValue(recency_days=None, frequency_24m=0, monetary_24m_minor=0,
                                                                rfm=None, segment=None)}
    return {"lifecycle": standing.lifecycle, "value": CustomerValue(
        recency_days=standing.recency_days, frequency_24m=standing.frequency_24m,
        monetary_24m_minor=standing.monetary_24m_minor, rfm=standing.rfm, segment=standing.segment)}
