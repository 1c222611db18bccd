"""A policy that notices when a custom action did not run and answers with a fallback.

When Rasa cannot reach the action endpoint (the app is down, restarting, or the call
failed), it logs the exception, drops the action's events and goes on: the customer
would get no reply at all. Our custom actions always say something, so "a custom action
just ran and nothing was said since the customer's message" means it failed. Then this
policy predicts `utter_technical_problem` (and after it, listening), and logs the
conversation id so the failure can be traced.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)

FALLBACK = "utter_technical_problem"
SPEAKING_ACTIONS = {"action_answer_question", "action_small_talk", "action_handoff",
                    "action_record_feedback", "action_open_ticket", "action_thanks"}


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class ActionFailurePolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Above RulePolicy (6): its rules would otherwise just listen after the action.
        return {"priority": 7}

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain,
              **kwargs: Any) -> Resource:
        return self._resource

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: dict[str, Any] | None = None,
                                     **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        last = tracker.latest_action_name
        if last == FALLBACK:
            probabilities[domain.index_for_action("action_listen")] = 1.0
        elif last in SPEAKING_ACTIONS and not _spoke_since_user(tracker):
            log.error("conversation %s: custom action %s failed (action endpoint unreachable "
                      "or erroring); answering with %s", tracker.sender_id, last, FALLBACK)
            probabilities[domain.index_for_action(FALLBACK)] = 1.0
        return self._prediction(probabilities)


def _spoke_since_user(tracker: DialogueStateTracker) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, BotUttered):
            return True
        if isinstance(event, UserUttered):
            return False
    return False


__all__ = ["ActionFailurePolicy"]
