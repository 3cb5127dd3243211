"""Supervision level names: one place, renamable by the admin (a setting)."""
from __future__ import annotations

from hotline import settings
from hotline.enums import SupervisionLevel

SETTING_KEY = "supervision_level_names"
DEFAULT_NAMES = {SupervisionLevel.UNIT: "单位主责", SupervisionLevel.SUPERVISING_UNIT: "处室督导",
                 SupervisionLevel.CENTRE: "委级统筹"}


def level_names() -> dict[int, str]:
    """{1: name, 2: name, 3: name} from the admin's setting, the defaults otherwise."""
    names = {int(k): v for k, v in DEFAULT_NAMES.items()}
    stored = settings.value(SETTING_KEY, {})
    for level in SupervisionLevel:
        value = str(stored.get(str(int(level)), "") if isinstance(stored, dict) else "").strip()
        if value:
            names[int(level)] = value
    return names


def level_name(level: int) -> str:
    return level_names().get(int(level), str(level))


def save_level_names(names: dict[int, str]) -> None:
    """Store the admin's names (blank means the default); the caller commits."""
    settings.store(SETTING_KEY, {str(int(level)): (names.get(int(level)) or "").strip()[:20]
                                 for level in SupervisionLevel})
