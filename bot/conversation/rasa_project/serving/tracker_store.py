"""Rasa's SQL tracker store, one query lighter per message. Before writing, Rasa's store
counts the conversation's rows since its latest session start to know which events are
new, although the same process read exactly those rows a moment earlier, under the
conversation's lock (Redis between replicas): here the store remembers how many it read
and writes the rest. A tracker it did not read (a new conversation) is counted as Rasa
does. Same table, same rows, same schema: `bot.conversation.rasa_tracker` reads it as
before."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

# Set on a tracker object by this store: how many of its events are in the table.
STORED = "_supportbot_events_stored"


class RememberingSQLTrackerStore(SQLTrackerStore):
    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        tracker = await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        if tracker is not None and not fetch_events_from_all_sessions:
            setattr(tracker, STORED, len(tracker.events))
        return tracker

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        stored = getattr(tracker, STORED, None)
        if stored is None:
            new = super()._additional_events(session, tracker)
        else:
            new = itertools.islice(tracker.events, stored, len(tracker.events))
        setattr(tracker, STORED, len(tracker.events))  # save() writes all of them next
        return new
