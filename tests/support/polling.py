"""Waiting for what events make eventually, and reading back what a write created."""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx


def eventually(probe: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """The first truthy answer of `probe`, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """In an async test: wait, without blocking the loop, until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def created(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()
