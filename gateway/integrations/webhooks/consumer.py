"""The gateway's `/internal/events`: every event it receives may be due to some webhook."""

from collections.abc import Iterator, Mapping

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.integrations.webhooks.dispatcher import Dispatcher
from gateway.integrations.webhooks.subscriptions import fan_out, fan_out_many
from shared.consumer import EventConsumer, EventHandler
from shared.events import CloudEvent


class EveryType(Mapping[str, EventHandler]):
    """One handler for any event type: the relays send the gateway only the families it
    consumes (cli.topology), and fan-out does the matching per subscription."""

    def __init__(self, handler: EventHandler) -> None:
        self._handler = handler

    def __getitem__(self, event_type: str) -> EventHandler:
        return self._handler

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class WebhookConsumer(EventConsumer):
    """Applies events exactly once, then wakes the dispatcher so a delivery need not wait a poll.
    A relay's batch is fanned out together (`fan_out_many`): one subscriptions query per batch."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], processed: Table, dispatcher: Dispatcher) -> None:
        super().__init__(sessions, processed, EveryType(fan_out), fan_out_many)  # type: ignore[arg-type]
        self._dispatcher = dispatcher

    async def handle(self, event: CloudEvent) -> str:
        outcome = await super().handle(event)
        if outcome == "applied":
            self._dispatcher.wake()
        return outcome

    async def handle_together(self, events: list[CloudEvent]) -> dict[str, str]:
        outcomes = await super().handle_together(events)
        if "applied" in outcomes.values():
            self._dispatcher.wake()
        return outcomes
