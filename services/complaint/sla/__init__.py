"""The SLA sub-domain: which policy governs a case, its clock, and business time on a dealer's calendar."""
