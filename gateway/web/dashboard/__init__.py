"""The dashboard, `/ui`: one HTML page, its scripts and styles, and the charting library.

The page is a shell; the browser logs in (`POST /v1/auth/login`) and draws everything from
the public KPI and organisation APIs with the user's own access token, so the dashboard
sees exactly what the user may see and nothing here talks to a service.
"""

from gateway.web.dashboard.routes import router

__all__ = ["router"]
