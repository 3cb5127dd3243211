"""Forms of dispatch.coordination's actions (attached with attach_form)."""
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from hotline.dispatch.coordination import fallback_unit
from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm
from hotline.units.queries import unit_choices


class CoordinateForm(ActionForm):
    coordination_id = HiddenField(validators=[DataRequired()])
    unit_id = SelectField("责任单位", coerce=lambda v: int(v) if v not in (None, "") else 0, validators=[Optional()])
    note = TextAreaField("协调意见", validators=[Length(max=2000)])

    NOT_INPUT = ActionForm.NOT_INPUT + ("coordination_id",)

    def prepare(self, ticket, target, user, *, fresh):
        fallback = fallback_unit()
        first = (0, f"兜底单位：{fallback.name}") if fallback is not None else (0, "请选择责任单位")
        self.unit_id.choices = [first] + unit_choices()


attach_form("coordinate", CoordinateForm, "coordination_id")
