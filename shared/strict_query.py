"""Unknown query parameters are a 422, like every other validation error.

A misspelt filter (`?dealer=` for `?dealer_code=`) would otherwise be ignored and the caller
handed an unfiltered list it takes for the filtered one. Applied to every route as an app-level
dependency (shared.service_app, gateway.app); the answer goes through the same validation
handler, so the problem's `errors[]` names each unknown parameter.
"""

from fastapi import Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from starlette.routing import BaseRoute

# Kept on the route itself: routes are neither hashable nor immortal (tests build many apps).
_DECLARED = "_csloop_declared_query_parameters"


# async although it awaits nothing: FastAPI runs a plain `def` dependency in its thread pool, a
# thread hop that cost every request about an eighth of a served GET.
async def refuse_unknown_query_parameters(request: Request) -> None:
    if not request.scope.get("query_string"):
        return
    unknown = sorted(set(request.query_params) - _declared(request.scope["route"]))
    if unknown:
        raise RequestValidationError([
            {"type": "extra_forbidden", "loc": ("query", name), "msg": "Unknown query parameter",
             "input": request.query_params[name]} for name in unknown])


def _declared(route: BaseRoute) -> frozenset[str]:
    """The query parameters the route's endpoint and its dependencies declare, found once per route."""
    names = getattr(route, _DECLARED, None)
    if names is None:
        dependant = getattr(route, "dependant", None)
        fields = get_flat_params(dependant) if dependant is not None else []
        names = frozenset(field.alias for field in fields if isinstance(field.field_info, params.Query))
        setattr(route, _DECLARED, names)
    return names
