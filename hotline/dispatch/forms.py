"""Forms of the dispatcher's actions."""
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from hotline.lifecycle.registry import attach_form
from hotline.routing.services import suggest
from hotline.tickets.forms import ActionForm
from hotline.units.queries import unit_choices


class DispatchForm(ActionForm):
    lead_unit_id = SelectField("主办单位", coerce=int, validators=[InputRequired("请选择主办单位")])
    co_unit_ids = SelectMultipleField("协办单位", coerce=int, validators=[Optional()])
    note = TextAreaField("派单说明", validators=[Length(max=2000)])

    def prepare(self, ticket, target, user, *, fresh):
        units = unit_choices()
        self.lead_unit_id.choices = [(0, "请选择主办单位")] + units
        self.co_unit_ids.choices = units
        if fresh:
            s = suggest(ticket.category_id, ticket.district_id)
            if s.lead is not None:
                self.lead_unit_id.data = s.lead.id
                self.co_unit_ids.data = [u.id for u in s.co_units]
            self.suggestion = s


class RedispatchForm(DispatchForm):
    return_id = HiddenField(validators=[DataRequired()])
    lead_unit_id = SelectField("主办单位", coerce=int, validators=[Optional()])

    def prepare(self, ticket, target, user, *, fresh):
        units = unit_choices()
        self.lead_unit_id.choices = [(0, "请选择（协办退单时不换主办）")] + units
        self.co_unit_ids.choices = units


class OverruleForm(ActionForm):
    return_id = HiddenField(validators=[DataRequired()])
    note = TextAreaField("驳回理由", validators=[DataRequired("请填写驳回理由"), Length(max=2000)])


class MergeForm(ActionForm):
    into_number = StringField("并入工单编号", validators=[DataRequired("请填写主工单编号"), Length(max=24)])
    note = TextAreaField("说明", validators=[Length(max=2000)])


class CloseForm(ActionForm):
    note = TextAreaField("无效原因", validators=[DataRequired("请填写无效原因"), Length(max=2000)])


attach_form("dispatch", DispatchForm)
attach_form("redispatch", RedispatchForm, "return_id")
attach_form("overrule", OverruleForm, "return_id")
attach_form("merge", MergeForm)
attach_form("close", CloseForm)
