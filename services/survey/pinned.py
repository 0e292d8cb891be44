"""Published survey versions as the public page uses them, parsed once per process.

A published version never changes (surveys.py freezes a copy of the draft; edits make the
next version) and neither does its survey's code, so an entry can never be stale: every
replica may keep its own copy, and nothing needs invalidating. Bounded all the same, least
recently used out first, so a network with many surveys does not grow a process without end.
"""

import uuid
from collections import OrderedDict
from dataclasses import dataclass

from services.survey.definition import Definition

CAPACITY = 512


@dataclass(frozen=True)
class PinnedVersion:
    """What answering a version needs: its definition (checked at publishing) and its survey's code."""

    definition: Definition
    survey_code: str


class PinnedVersions:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[uuid.UUID, int], PinnedVersion] = OrderedDict()

    def get(self, survey_id: uuid.UUID, number: int) -> PinnedVersion | None:
        key = (survey_id, number)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, survey_id: uuid.UUID, number: int, version: PinnedVersion) -> None:
        self._entries[survey_id, number] = version
        self._entries.move_to_end((survey_id, number))
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
