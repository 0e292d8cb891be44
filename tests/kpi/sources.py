"""Stand-in for the source services' /internal/facts/<kind>: what the tests fed as events, as records today."""

from typing import Any

from fastapi import FastAPI


class FedRecords:
    """Folds fed event payloads into one record per source row, as the source service would hold it."""

    def __init__(self) -> None:
        self.kinds: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in (
            "responses", "invitations", "alerts", "visits", "deliveries", "followups", "appointments", "complaints", "staff",
            "recalls", "recall-completions")}

    def add(self, type_: str, data: dict[str, Any]) -> None:
        k = self.kinds
        if type_ == "survey.response.submitted":
            k["responses"].setdefault(data["response_id"], data)
        elif type_ in ("survey.response.flagged", "survey.response.reviewed") and data["response_id"] in k["responses"]:
            # The survey service's record carries the integrity as the last flag or review left it.
            k["responses"][data["response_id"]] = {**k["responses"][data["response_id"]], "integrity": data["integrity"]}
        elif type_ == "survey.invitation.sent":
            k["invitations"].setdefault(data["invitation_id"], data)
        elif type_ == "survey.alert.raised":
            k["alerts"].setdefault(data["response_id"], data)
        elif type_ == "service_visit.closed":
            k["visits"][data["visit_id"]] = data
        elif type_ == "vehicle.delivered":
            k["deliveries"].setdefault(data["delivery_id"], data)
        elif type_.startswith("followup."):
            self._followup(type_, data)
        elif type_ == "appointment.changed":
            known = k["appointments"].get(data["appointment_id"])
            if known is None or known["changed_at"] <= data["changed_at"]:
                k["appointments"][data["appointment_id"]] = data
        elif type_ == "staff.changed":
            known = k["staff"].get(data["staff_id"])
            if known is None or known["version"] <= data["version"]:
                k["staff"][data["staff_id"]] = data
        elif type_.startswith("complaint."):
            self._complaint(type_, data)
        elif type_ == "recall.vin_assigned":
            # The complaint service keeps each VIN under its latest dealer, added when it was first listed.
            for vin in data["vins"]:
                known = k["recalls"].get((data["recall_code"], vin))
                k["recalls"][(data["recall_code"], vin)] = {
                    **data, "vins": [vin], "assigned_at": known["assigned_at"] if known else data["assigned_at"]}
        elif type_ == "recall.completed":
            k["recall-completions"][(data["recall_code"], data["vin"])] = data

    def _followup(self, type_: str, data: dict[str, Any]) -> None:
        """The task as the customer service holds it after these events (api_facts: how it ended too)."""
        task = self.kinds["followups"].setdefault(data["followup_id"], {"status": "open"})
        task.update({key: data[key] for key in ("followup_id", "dealer_code", "kind", "org_path")})
        if type_ == "followup.scheduled" or not task.get("due_at"):
            task["due_at"] = data.get("due_at")
        if data.get("assignee"):
            task["assignee"] = data["assignee"]
        if type_ == "followup.completed":
            task.update(status="done", completed_at=data["completed_at"], reached=data.get("reached", True),
                        satisfaction=data.get("satisfaction"))
        elif type_ == "followup.unreachable" and task["status"] != "done":
            task.update(status="unreachable", unreachable_at=data["unreachable_at"])

    def _complaint(self, type_: str, data: dict[str, Any]) -> None:
        case = self.kinds["complaints"].setdefault(data["complaint_id"], {"breached_kinds": []})
        if type_ == "complaint.opened":
            case.update(data)
        elif type_ == "complaint.status_changed":
            case.update({k: data[k] for k in ("status", "is_open", "resolved_at", "first_responded_at")},
                        **{k: data[k] for k in ("first_response_due", "resolution_due") if data.get(k)})
        elif type_ == "complaint.sla_breached":
            case["breached_kinds"].append(data["kind"])
            case["first_response_due" if data["kind"] == "first_response" else "resolution_due"] = data["due_at"]


def sources_app(fed: FedRecords) -> FastAPI:
    sources = FastAPI()

    @sources.get("/internal/facts/{kind}")
    async def facts(kind: str, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        rows = [r for r in fed.kinds[kind].values() if kind != "followups" or r.get("due_at")]
        start = int(cursor or 0)
        end = start + limit
        return {"items": rows[start:end], "next_cursor": str(end) if end < len(rows) else None}

    return sources
