"""The survey service: survey definitions and versions, invitations, responses, scores and alerts."""
