"""Choosing the cases: a recipe per ticket (one of each first, then by weight), the
matter, place and units that fit it, its story (hotline.demo.planner) and what the
citizen said."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from hotline.demo import city, texts
from hotline.demo.planner import fit
from hotline.demo.recipes import CHANNEL_WEIGHTS, RECIPES, URGENCY_WEIGHTS, Case, Recipe
from hotline.demo.world import World
from hotline.enums import Channel, RequestType, ReturnReason, UnitKind, Urgency


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, [weights[k] for k in keys])[0]


def plan_cases(world: World, rng: random.Random, n: int) -> list[Case]:
    recipes = list(RECIPES[:n])  # one of each first, so every state and twist appears
    if n > len(recipes):
        recipes += rng.choices(RECIPES, [r.weight for r in RECIPES], k=n - len(recipes))
    unused_types = list(RequestType)
    unused_urgencies = [Urgency.URGENT, Urgency.CRITICAL]
    unused_channels = [c for c in Channel if c is not Channel.PHONE]
    phones: list[str] = []
    cases = []
    for recipe in recipes:
        case = Case(recipe=recipe)
        _choose_matter(world, rng, case, unused_types, unused_urgencies)
        case.channel = unused_channels.pop(0) if unused_channels and rng.random() < 0.5 else _weighted(
            rng, CHANNEL_WEIGHTS)
        fit(world, rng, case)
        case.draft = _draft(world, rng, case, phones)
        cases.append(case)
    return cases


def _compatible(issue: dict, r: Recipe) -> bool:
    if r.target == "answered":
        return bool(issue.get("answer"))
    if r.hand_down and issue["unit"] != "@district":
        return False
    if r.cos and not _co_options(issue):
        return False
    if r.extension and "normal" not in issue["urg"]:
        return False
    return True


def _co_options(issue: dict) -> list[str]:
    return [c for c in issue.get("co", ()) if c != "@district" or issue.get("place", True)]


def _choose_matter(world: World, rng: random.Random, case: Case, unused_types, unused_urgencies) -> None:
    r = case.recipe
    if r.target in ("invalid", "merged"):
        case.request_type = RequestType.OTHER
        return
    pool = [i for i in texts.ISSUES if _compatible(i, r)]
    preferred = [i for i in pool if set(i["types"]) & {t.value for t in unused_types}]
    issue = rng.choice(preferred or pool)
    case.issue = issue
    types = [RequestType(t) for t in issue["types"]]
    fresh = [t for t in types if t in unused_types]
    if r.target == "answered":
        case.request_type = RequestType.CONSULTATION
    elif fresh:
        case.request_type = fresh[0]
    else:
        case.request_type = types[0] if rng.random() < 0.7 else rng.choice(types)
    if case.request_type in unused_types:
        unused_types.remove(case.request_type)
    urgencies = [Urgency(u) for u in issue["urg"]]
    if r.target == "answered" or r.extension:
        urgencies = [Urgency.NORMAL]
    fresh_u = [u for u in urgencies if u in unused_urgencies]
    if fresh_u:
        case.urgency = fresh_u[0]
        unused_urgencies.remove(case.urgency)
    else:
        case.urgency = _weighted(rng, {u: URGENCY_WEIGHTS[u] for u in urgencies})

    if r.extras and issue["unit"] == "@district" and rng.random() < 0.25:
        case.recipe = _with(r, hand_down=1 if rng.random() < 0.7 else 2)
        r = case.recipe

    # where it happened and who handles it
    if issue.get("place", True):
        places = [(street, xq, community) for street, (_, compounds) in city.PLACES.items()
                  for xq, community in compounds]
        if r.hand_down > 1:  # handed down to a community: one whose staff can log in and see it
            places = [p for p in places if p[2] in world.staff]
        street, xq, community = rng.choice(places)
        roads = city.PLACES[street][0]
        road = rng.choice(roads)
        case.street, case.community, case.district = street, community, world.parent[street]
        case.place = dict(xq=xq, road=road, road2=rng.choice([x for x in roads if x != road] + ["江城大道"]))
    case.lead = case.district if issue["unit"] == "@district" else issue["unit"]
    want_cos = r.cos or (r.extras and _co_options(issue) and rng.random() < 0.25)
    if want_cos:
        options = [case.district if c == "@district" else c for c in _co_options(issue)]
        options = [c for c in dict.fromkeys(options) if c and c != case.lead]
        if options:
            k = 2 if len(options) > 1 and rng.random() < 0.3 else 1
            case.cos = rng.sample(options, k)
    if r.extras:
        roll = rng.random()
        if roll < 0.08:
            case.recipe = _with(case.recipe, late=True)
        elif roll < 0.13:
            case.recipe = _with(case.recipe, review_reject=True)
        elif roll < 0.25:
            case.recipe = _with(case.recipe, fails=1)
    if r.misroute == "redispatch":
        if case.lead in ("DC", "JN"):
            case.wrong = "JN" if case.lead == "DC" else "DC"
            case.return_reason = ReturnReason.WRONG_AREA
        else:
            others = [c for c, _, kind, _ in city.UNITS
                      if c not in (case.lead, *case.cos) and kind in (UnitKind.DEPARTMENT, UnitKind.ENTERPRISE)]
            case.wrong = rng.choice(others)
            case.return_reason = ReturnReason.NOT_OUR_DUTY
    elif r.misroute == "overrule":
        case.return_reason = rng.choice([ReturnReason.UNCLEAR_OWNERSHIP, ReturnReason.NOT_OUR_DUTY])


def _with(recipe: Recipe, **changes) -> Recipe:
    return replace(recipe, **changes)


# --- what the citizen said ---------------------------------------------------------------
def _person(rng: random.Random) -> str:
    surname = rng.choice(city.SURNAMES)
    roll = rng.random()
    if roll < 0.5:
        return surname + rng.choice(["先生", "女士"])
    return surname + rng.choice(city.GIVEN)


def _phone(rng: random.Random, phones: list[str]) -> str:
    if phones and rng.random() < 0.12:  # a caller who has called before
        return rng.choice(phones)
    phone = "1" + rng.choice(["38", "39", "58", "59", "86", "87", "35", "36", "50", "51", "88", "77", "99"]) + \
        "".join(rng.choice("0123456789") for _ in range(8))
    phones.append(phone)
    return phone


def _draft(world: World, rng: random.Random, case: Case, phones: list[str]) -> dict:
    if case.recipe.target in ("invalid", "merged"):
        title, content, _ = rng.choice(texts.INVALID_CALLS)
        return dict(channel=case.channel.value, request_type=RequestType.OTHER.value,
                    category_id=world.categories["QT-QT"].id, urgency=Urgency.NORMAL.value,
                    caller_name=_person(rng), caller_phone=_phone(rng, phones), confidential=False,
                    address="", district_id=None, title=title, content=content)
    issue = case.issue
    day = case.start - timedelta(days=rng.randint(0, 2))
    values = dict(
        xq=case.place.get("xq", ""), road=case.place.get("road", ""), road2=case.place.get("road2", ""),
        street=world.short(case.street) if case.street else "东华街道",
        days=rng.randint(2, 10), shop=rng.choice(city.SHOPS), training=rng.choice(city.TRAINING),
        builder=rng.choice(city.BUILDERS), developer=rng.choice(city.DEVELOPERS), factory=rng.choice(city.FACTORIES),
        money=rng.choice([800, 1500, 2680, 3000, 4500, 6800, 12000, 23500]), bill=rng.randint(380, 1260),
        line=rng.randint(1, 128),
        tail=f"{rng.randint(0, 9999):04d}", hospital=rng.choice(city.HOSPITALS), school=rng.choice(city.SCHOOLS),
        date=f"{day.month}月{day.day}日", months=rng.randint(2, 5),
    )
    address = ""
    if issue.get("place", True):
        prefix = world.short(case.district) + world.short(case.street)
        xq = case.place["xq"]
        if xq.endswith("组"):
            values["addr"] = f"{prefix}{xq}{rng.randint(1, 60)}号"
        else:
            values["addr"] = f"{prefix}{xq}{rng.randint(1, 24)}栋{rng.randint(1, 4)}单元"
        text = issue["title"] + issue["content"]
        address = values["addr"] if ("{addr}" in text or "{xq}" in text) else \
            f"{world.short(case.district)}{case.place['road']}{rng.randint(1, 300)}号"
    confidential = rng.random() < issue.get("confidential", 0.03)
    name = _person(rng)
    if case.channel is Channel.LETTER and rng.random() < 0.5:
        name = ""
    return dict(
        channel=case.channel.value, request_type=case.request_type.value,
        category_id=world.categories[issue["cat"]].id, urgency=case.urgency.value,
        caller_name=name, caller_phone=_phone(rng, phones), confidential=confidential,
        address=address, district_id=world.uid(case.district) if case.district else None,
        title=issue["title"].format(**values), content=issue["content"].format(**values),
    )
