"""The complaint service: cases, SLA clocks, escalation, resolution, quality signals."""
