"""Admin settings pages: the names of the three supervision levels (督办级别), the
process settings (流程设置) and the reports' counting definitions (统计口径)."""
from __future__ import annotations

from flask import url_for

from hotline.admin import forms
from hotline.admin.services.settings import save_report_definitions
from hotline.admin.views.base import bp, form_page
from hotline.audit.services import AUDIT_RETENTION_DAYS, retention_days
from hotline.enums import SupervisionLevel
from hotline.deadlines.services import CO_UNIT_DAYS_BEFORE_LEAD
from hotline.dispatch.coordination import COORDINATION_AFTER_RETURNS, FALLBACK_UNIT_ID
from hotline.intake.cases import REFUSAL_REASONS, refusal_reasons
from hotline.reports.definitions import RESPONSE_PARTS, current, formulas
from hotline.review.signoff import SIGNOFF_GATE, SIGNOFF_GATE_DEFAULT
from hotline.settings import store, value
from hotline.supervision.levels import DEFAULT_NAMES, level_names, save_level_names
from hotline.units.queries import unit_choices


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    current = level_names()
    form = forms.LevelNamesForm(data={f"level_{int(level)}": "" if current[int(level)] == name else current[int(level)]
                                      for level, name in DEFAULT_NAMES.items()})

    def save():
        save_level_names({int(level): form[f"level_{int(level)}"].data for level in SupervisionLevel})
        return "已保存督办级别名称：" + "、".join(level_names().values()), url_for(".settings")

    return form_page(form, "admin/settings.html", save)


@bp.route("/process", methods=["GET", "POST"])
def process_settings():
    """流程设置: the signoff gate, co-unit deadlines, 上级协调, the fallback unit and the
    不予受理 reasons — each stored as a setting, today's behaviour as the default."""
    gate = value(SIGNOFF_GATE, SIGNOFF_GATE_DEFAULT)
    form = forms.ProcessSettingsForm(data={
        "signoff_enabled": bool(gate.get("enabled", True)),
        "signoff_min_level": int(gate.get("min_level", 1)),
        "signoff_request_types": list(gate.get("request_types") or []),
        "co_unit_days_before_lead": int(value(CO_UNIT_DAYS_BEFORE_LEAD, 1) or 0),
        "coordination_after_returns": int(value(COORDINATION_AFTER_RETURNS, 2) or 0),
        "fallback_unit_id": value(FALLBACK_UNIT_ID, None),
        "refusal_reasons": "\n".join(f"{r['key']}|{r['label']}|{r['script']}" for r in refusal_reasons()),
        "audit_retention_days": retention_days(),
    })
    form.signoff_min_level.choices = [(level, name) for level, name in level_names().items()]
    form.fallback_unit_id.choices = [("", "（未指定）")] + unit_choices()

    def save():
        store(SIGNOFF_GATE, {"enabled": bool(form.signoff_enabled.data),
                                      "min_level": int(form.signoff_min_level.data),
                                      "request_types": list(form.signoff_request_types.data or [])})
        store(CO_UNIT_DAYS_BEFORE_LEAD, int(form.co_unit_days_before_lead.data))
        store(COORDINATION_AFTER_RETURNS, int(form.coordination_after_returns.data))
        store(FALLBACK_UNIT_ID, form.fallback_unit_id.data or None)
        store(REFUSAL_REASONS, [
            dict(zip(("key", "label", "script"), (p.strip() for p in line.split("|"))))
            for line in form.refusal_reasons.data.splitlines() if line.strip()])
        if form.audit_retention_days.data is not None:
            store(AUDIT_RETENTION_DAYS, int(form.audit_retention_days.data))
        return "流程设置已保存", url_for(".process_settings")

    return form_page(form, "admin/process_settings.html", save)


_DEFINITION_CHOICES = ("sign_returns", "close_basis", "callback_pick", "overdue_days")


@bp.route("/report-definitions", methods=["GET", "POST"])
def report_definitions():
    """统计口径: how the reports count, with the formulas now in force shown below the form."""
    defs = current()
    form = forms.ReportDefinitionsForm(data={
        **{name: getattr(defs, name) for name in _DEFINITION_CHOICES},
        "basic_weight": defs.basic_weight,
        "repeat_days": defs.repeat_days,
        **{f"weight_{part}": defs.response_weights.get(part, "0") for part in RESPONSE_PARTS},
    })

    def save():
        save_report_definitions({
            **{name: form[name].data for name in _DEFINITION_CHOICES},
            "basic_weight": form.basic_weight.data,
            "response_weights": {part: form[f"weight_{part}"].data for part in RESPONSE_PARTS},
            "repeat_days": form.repeat_days.data,
        })
        return "统计口径已保存", url_for(".report_definitions")

    return form_page(form, "admin/report_definitions.html", save,
                     parts=list(RESPONSE_PARTS), formulas=formulas(defs), repeat_days=defs.repeat_days)
