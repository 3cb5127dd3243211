"""Admin settings page: the names of the three supervision levels (督办级别)."""
from __future__ import annotations

from flask import url_for

from hotline.admin import forms
from hotline.admin.views.base import bp, form_page
from hotline.enums import SupervisionLevel
from hotline.supervision.levels import DEFAULT_NAMES, level_names, save_level_names


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    current = level_names()
    form = forms.LevelNamesForm(data={f"level_{int(level)}": "" if current[int(level)] == name else current[int(level)]
                                      for level, name in DEFAULT_NAMES.items()})

    def save():
        save_level_names({int(level): form[f"level_{int(level)}"].data for level in SupervisionLevel})
        return "已保存督办级别名称：" + "、".join(level_names().values()), url_for(".settings")

    return form_page(form, "admin/settings.html", save)
