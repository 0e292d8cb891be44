"""The customer's survey page, `/s/{token}`: HTML over the survey service's public token API."""

from gateway.web.survey_page.routes import router

__all__ = ["router"]
