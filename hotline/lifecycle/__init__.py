"""The machinery every stage of the process shares: the action registry, the guards and
ticket lock, the one event writer and the unit of work. Stages (intake, dispatch,
handling, review, callbacks, supervision) register their actions here; pages, the API,
the CLI and the scheduler look them up."""
from hotline.lifecycle.registry import (REGISTRY, Action, available_actions, offer, offers, perform, register,
                                        waiting_notices)
from hotline.lifecycle.uow import after_commit, committed, unit_of_work

__all__ = ["REGISTRY", "Action", "after_commit", "available_actions", "committed", "offer", "offers", "perform", "register",
           "unit_of_work", "waiting_notices"]
