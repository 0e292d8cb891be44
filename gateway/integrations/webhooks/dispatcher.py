"""Sends queued deliveries: signed per Standard Webhooks, retried with backoff and jitter.

One pooled aiohttp session whose resolver refuses non-public addresses (targets.py), so the
address checked is the address connected to. Outcomes: 2xx delivered; 410 Gone disables the
subscription and cancels what it still had queued; anything else (or no answer) is retried
after the next step of the schedule, until the schedule is used up.
"""

import asyncio
import json
import logging
import random
import time
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from gateway.settings import GatewaySettings
from gateway.integrations.webhooks.repository import DeliveryQueue, DueDelivery
from gateway.integrations.webhooks.sealing import SecretUnreadable
from gateway.integrations.webhooks.targets import TargetRefused
from shared.db import utcnow
from shared.jobs import PeriodicJob

logger = logging.getLogger("csloop.gateway.webhooks")

# At most this many requests in flight per pass: one slow endpoint cannot starve the rest.
CONCURRENCY = 20


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json", "user-agent": "CSLoop-Webhooks/1",
        "webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def retry_delay(schedule: list[float], attempts: int) -> float | None:
    """Seconds before the next try after `attempts` failed ones (+-20% jitter), None when done."""
    if attempts > len(schedule):
        return None
    return schedule[attempts - 1] * random.uniform(0.8, 1.2)


class Dispatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: GatewaySettings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._targets = settings.webhook_targets()
        self._secrets = settings.webhook_secrets()
        self._job = PeriodicJob("webhook-dispatcher", self.dispatch_once, settings.webhooks_dispatch_interval_seconds,
                                batch_size=settings.webhooks_batch_size)
        self._http: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2, resolver=self._targets.resolver())
        self._http = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self._settings.webhooks_timeout_seconds),
        )
        if self._settings.webhooks_dispatcher_enabled:
            self._job.start()

    async def close(self) -> None:
        await self._job.stop()
        if self._http:
            await self._http.close()

    def wake(self) -> None:
        self._job.wake()

    async def dispatch_once(self) -> int:
        """Send one batch of due deliveries; returns how many were attempted."""
        async with self._sessions() as session, session.begin():
            due = await DeliveryQueue(session).claim(self._settings.webhooks_batch_size)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def attempt(delivery: DueDelivery) -> None:
            async with limit:
                status, error, started = await self.send(delivery)
            await self._settle(delivery, status, error, started)

        await asyncio.gather(*(attempt(delivery) for delivery in due))
        return len(due)

    async def send(self, delivery: DueDelivery) -> tuple[int | None, str | None, float]:
        return await self.post_signed(delivery.url, delivery.secret, f"msg_{delivery.id.hex}", delivery.payload)

    async def post_signed(self, url: str, sealed_secret: str, message_id: str,
                          payload: dict) -> tuple[int | None, str | None, float]:
        """POST the payload signed with the subscription's secret: (status, error, monotonic start).
        Events and test pings alike, so a ping proves what a delivery would do."""
        started = time.monotonic()
        assert self._http is not None
        try:
            # Checked again per attempt: an IP literal never reaches the resolver.
            await self._targets.check(url)
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
            headers = signed_headers(self._secrets.open(sealed_secret), message_id, body, utcnow())
            async with self._http.post(url, data=body.encode(), headers=headers, allow_redirects=False) as response:
                await response.read()
                error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
                return response.status, error, started
        except TargetRefused as exc:
            return None, f"refused: {exc}", started
        except SecretUnreadable as exc:
            return None, str(exc), started
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return None, f"{exc.__class__.__name__}: {exc}"[:500], started

    async def _settle(self, due: DueDelivery, status: int | None, error: str | None, started: float) -> None:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            queue = DeliveryQueue(session)
            found = await queue.delivery(due.id)
            if found is None:  # the subscription was deleted meanwhile
                return
            delivery, subscription = found
            delivery.attempts += 1
            delivery.last_status_code, delivery.last_error = status, error
            delivery.history = [*delivery.history, {
                "attempt": delivery.attempts, "status_code": status, "error": error, "at": now.isoformat(),
                "duration_ms": int((time.monotonic() - started) * 1000),
            }]
            if delivery.status != "pending":  # cancelled while in flight: the attempt is history only
                return
            if error is None:
                delivery.status, delivery.delivered_at = "delivered", now
            elif status == 410:
                delivery.status = "failed"
                subscription.enabled = False
                subscription.disabled_reason = f"The endpoint answered 410 Gone at {now.isoformat()}"
                await queue.cancel_pending(subscription.id, now)
            elif (delay := retry_delay(self._settings.webhooks_retry_schedule_seconds, delivery.attempts)) is None:
                delivery.status = "failed"
            else:
                delivery.next_attempt_at = now + timedelta(seconds=delay)
        logger.info("webhook delivery %s attempt %s: %s", due.id, due.attempts + 1, error or status)
