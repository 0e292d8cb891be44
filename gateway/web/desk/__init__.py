"""The follow-up desk, `/ui/desk`: a CR agent's calls for today, the customer behind each, the
result of each attempt, and a screen pop for incoming calls.

Like the dashboard, the page is a shell: the browser signs in (the dashboard's sign-in, one token
for both pages) and works only through the public API with the user's own access token, so the
desk shows exactly what the user may see, masked as the API masks it.
"""

from gateway.web.desk.routes import router

__all__ = ["router"]
