"""Rasa's SQL tracker store, one query lighter per message. Before writing, Rasa's store
counts the conversation's rows since its latest session start to know which events are
new, although the same process read exactly those rows a moment earlier, under the
conversation's lock (Redis between replicas): here the store remembers how many it read
and writes the rest. A tracker it did not read (a new conversation) is counted as Rasa
does. Reading, it selects the one column it uses (each event's JSON) with Rasa's own
query, instead of loading every row as an object. Same table, same rows, same schema:
`bot.conversation.rasa_tracker` reads it as before."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

# Set on a tracker object by this store: how many of its events are in the table.
STORED = "_supportbot_events_stored"

log = logging.getLogger(__name__)


class RememberingSQLTrackerStore(SQLTrackerStore):
    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions)
            events = [json.loads(data) for (data,) in query.with_entities(self.SQLEvent.data)]
        if not (self.domain and events):
            log.debug("no tracker for sender id '%s' in SQL storage", sender_id)
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
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
