"""The recipes of the demo tickets: the state each ticket should end in and the twists on
the way (a misrouted dispatch, an extension, a hand-down, a rejected reply, an
unsatisfied callback ...), how often each occurs, and the Case a recipe becomes once
its matter, place, units and steps are chosen."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hotline.enums import Channel, RequestType, ReturnReason, Urgency


@dataclass(frozen=True)
class Recipe:
    name: str
    target: str  # answered invalid merged pending dispatched returned signed replied reviewed
    #              unsatisfied reopened closed unreachable
    weight: float
    age: tuple[float, float] = (1, 30)  # how many days ago the call came in (a hint; stories must fit)
    misroute: str | None = None  # "redispatch": wrong unit returns it; "overrule": right unit returns it
    hand_down: int = 0  # 1: to the street; 2: on to the community
    cos: bool = False  # co-units (协办)
    extension: str | None = None  # "pending" | "approved" | "refused"
    review_reject: bool = False
    late: bool = False  # signs and/or replies after the deadline
    reopen: int = 0  # rounds of 不满意 → 重办 before the target
    fails: int = 0  # failed callback attempts before the target
    extras: bool = False  # add random twists


RECIPES = [
    Recipe("answered", "answered", 18, (0.05, 30)),
    Recipe("invalid", "invalid", 4, (0.2, 30)),
    Recipe("merged", "merged", 5, (0.5, 25)),
    Recipe("pending", "pending", 7, (0.005, 0.6)),
    Recipe("dispatched", "dispatched", 7, (0.05, 0.9)),
    Recipe("dispatched_overdue", "dispatched", 3, (2, 6)),
    Recipe("returned", "returned", 4, (0.1, 1.5), misroute="redispatch"),
    Recipe("returned_disputed", "returned", 2, (0.1, 1.5), misroute="overrule"),
    Recipe("signed", "signed", 9, (0.2, 25)),
    Recipe("signed_hand_down", "signed", 4, (0.5, 10), hand_down=1),
    Recipe("signed_hand_down_community", "signed", 2, (0.5, 10), hand_down=2),
    Recipe("signed_cos", "signed", 3, (0.5, 10), cos=True),
    Recipe("signed_extension_pending", "signed", 3, (1, 4), extension="pending"),
    Recipe("signed_extension_approved", "signed", 3, (2, 12), extension="approved"),
    Recipe("signed_extension_refused", "signed", 2, (1, 6), extension="refused"),
    Recipe("signed_overruled", "signed", 2, (0.5, 6), misroute="overrule"),
    Recipe("signed_review_rejected", "signed", 3, (1, 8), review_reject=True),
    Recipe("signed_late", "signed", 2, (3, 20), late=True),
    Recipe("replied", "replied", 6, (0.3, 8)),
    Recipe("replied_cos_hand_down", "replied", 3, (1, 10), cos=True, hand_down=1),
    Recipe("replied_late", "replied", 2, (3, 25), late=True),
    Recipe("reviewed", "reviewed", 5, (0.2, 3)),
    Recipe("reviewed_failed_callbacks", "reviewed", 3, (0.5, 4), fails=2),
    Recipe("unsatisfied", "unsatisfied", 4, (0.3, 10)),
    Recipe("unsatisfied_again", "unsatisfied", 1, (3, 20), reopen=1),
    Recipe("reopened", "reopened", 4, (1, 15), reopen=1),
    Recipe("reopened_twice", "reopened", 2, (5, 25), reopen=2),
    Recipe("closed", "closed", 40, (1, 30), extras=True),
    Recipe("closed_redispatched", "closed", 4, (3, 30), misroute="redispatch"),
    Recipe("closed_overruled", "closed", 2, (3, 30), misroute="overrule"),
    Recipe("closed_extension_approved", "closed", 3, (8, 30), extension="approved"),
    Recipe("closed_extension_refused", "closed", 2, (8, 30), extension="refused", late=True),
    Recipe("closed_review_rejected", "closed", 3, (3, 30), review_reject=True),
    Recipe("closed_after_reopen", "closed", 3, (6, 30), reopen=1),
    Recipe("closed_hand_down", "closed", 4, (2, 30), hand_down=1),
    Recipe("closed_hand_down_community_cos", "closed", 2, (2, 30), hand_down=2, cos=True),
    Recipe("closed_late", "closed", 3, (5, 30), late=True),
    Recipe("unreachable", "unreachable", 5, (2, 30)),
]

CHANNEL_WEIGHTS = {Channel.PHONE: 60, Channel.WECHAT: 12, Channel.WEBSITE: 10, Channel.APP: 8,
                   Channel.LETTER: 3, Channel.LEADER: 3, Channel.OTHER: 4}
URGENCY_WEIGHTS = {Urgency.NORMAL: 80, Urgency.URGENT: 15, Urgency.CRITICAL: 5}


@dataclass
class Case:
    recipe: Recipe
    issue: dict | None = None
    request_type: RequestType = RequestType.OTHER
    urgency: Urgency = Urgency.NORMAL
    channel: Channel = Channel.PHONE
    lead: str | None = None  # unit codes
    cos: list[str] = field(default_factory=list)
    wrong: str | None = None
    return_reason: ReturnReason | None = None
    district: str | None = None
    street: str | None = None
    community: str | None = None
    place: dict = field(default_factory=dict)
    draft: dict | None = None
    steps: list = field(default_factory=list)

    @property
    def start(self) -> datetime:
        return self.steps[0][0]
