"""Forms of dispatch.split's actions (attached with attach_form)."""
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from hotline.dispatch.split import merge_candidates
from hotline.errors import DomainError
from hotline.categories.queries import category_choices
from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm
from hotline.units.queries import unit_choices


def _int(v):
    return int(v) if v not in (None, "") else 0


class MergeDispatchedForm(ActionForm):
    into_ticket_id = SelectField("并入工单（同一主办单位的在办工单）", coerce=_int,
                                 validators=[InputRequired("请选择要并入的工单")])
    note = TextAreaField("说明", validators=[Length(max=2000)])

    def prepare(self, ticket, target, user, *, fresh):
        try:
            rows = merge_candidates(ticket, user)
        except DomainError:
            rows = []
        self.into_ticket_id.choices = [(t.id, f"{t.number} {t.title}（{t.state.label}）") for t in rows]


class SplitForm(ActionForm):
    title = StringField("新工单标题", validators=[DataRequired("请填写新工单标题"), Length(max=200)])
    content = TextAreaField("拆出的诉求内容", validators=[DataRequired("请填写拆出的诉求内容"), Length(max=10000)])
    category_id = SelectField("诉求分类", coerce=_int, validators=[InputRequired("请选择诉求分类")])
    lead_unit_id = SelectField("交由单位办理（不选则待派单）", coerce=_int, validators=[Optional()])
    note = TextAreaField("拆单说明", validators=[Length(max=2000)])

    def prepare(self, ticket, target, user, *, fresh):
        self.category_id.choices = [(0, "请选择")] + [(int(k), v) for k, v in category_choices()]
        self.lead_unit_id.choices = [(0, "暂不派单")] + unit_choices()
        if fresh:
            self.category_id.data = ticket.category_id


attach_form("merge_dispatched", MergeDispatchedForm, "into_ticket_id")
attach_form("split", SplitForm)
