"""Supervision level names: one place, renamable by the admin (a setting)."""
from __future__ import annotations

import json

from hotline.admin.models import Setting
from hotline.enums import SupervisionLevel
from hotline.extensions import db

SETTING_KEY = "supervision_level_names"
DEFAULT_NAMES = {SupervisionLevel.UNIT: "单位主责", SupervisionLevel.SUPERVISING_UNIT: "处室督导",
                 SupervisionLevel.CENTRE: "委级统筹"}


def level_names() -> dict[int, str]:
    """{1: name, 2: name, 3: name} from the admin's setting, the defaults otherwise."""
    names = {int(k): v for k, v in DEFAULT_NAMES.items()}
    row = db.session.get(Setting, SETTING_KEY)
    if row is not None:
        try:
            stored = json.loads(row.value)
        except ValueError:
            stored = {}
        for level in SupervisionLevel:
            value = str(stored.get(str(int(level)), "")).strip()
            if value:
                names[int(level)] = value
    return names


def level_name(level: int) -> str:
    return level_names().get(int(level), str(level))


def save_level_names(names: dict[int, str]) -> None:
    """Store the admin's names (blank means the default); the caller commits."""
    clean = {str(int(level)): (names.get(int(level)) or "").strip()[:20] for level in SupervisionLevel}
    value = json.dumps(clean, ensure_ascii=False)
    row = db.session.get(Setting, SETTING_KEY)
    if row is None:
        db.session.add(Setting(key=SETTING_KEY, value=value))
    else:
        row.value = value
