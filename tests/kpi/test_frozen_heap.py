"""Every process freezes its start-up heap (shared/serve.py), shown on the KPI service's: full garbage
collections walked pydantic's validators for 80-400 ms and set a ranking's p99. Checked by what the
collector is left to walk, not by time."""

import gc

from fastapi import FastAPI

from services.kpi.app import create_app
from services.kpi.settings import KpiSettings
from shared.serve import frozen_after_startup
from tests.kpi.conftest import ORGS, SECRET
from tests.support.org_directory import stand_in_directory


async def test_the_heap_of_start_up_is_frozen_once_the_service_has_started(database_url: str) -> None:
    settings = KpiSettings(database_url=database_url, internal_secret=SECRET, relay_enabled=False, log_json=False)
    app: FastAPI = frozen_after_startup(create_app(settings, migrate=True, directory=stand_in_directory(ORGS, SECRET)))
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            tracked = len(gc.get_objects())
        assert frozen > 50_000  # modules, routes, validators: what a full collection walked every time
        assert tracked < frozen / 10  # what is left to walk
    finally:
        gc.unfreeze()  # the rest of the suite's apps are collected as usual
