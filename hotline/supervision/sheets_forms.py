"""Forms of supervision.sheets's actions (attached with attach_form)."""
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from hotline.clock import now as clock_now
from hotline.lifecycle.registry import attach_form
from hotline.supervision.forms import CaseForm
from hotline.supervision.levels import level_names
from hotline.supervision.codes import default_case_due
from hotline.supervision.sheets import MANUAL_REASONS
from hotline.tickets.forms import ActionForm


class OpenCaseForm(ActionForm):
    reason = SelectField("督办原因", choices=[(r.value, r.label) for r in MANUAL_REASONS],
                         validators=[DataRequired("请选择督办原因")])
    level = SelectField("督办级别", choices=[("1", "1")], default="1", validators=[DataRequired("请选择督办级别")])
    due_on = DateField("督办期限", validators=[Optional()],
                       description="不填则按默认工作日数计算")
    note = TextAreaField("督办事由", validators=[DataRequired("请填写督办事由"), Length(max=4000)])

    def prepare(self, ticket, target, user, *, fresh):
        self.level.choices = [(str(k), v) for k, v in level_names().items()]
        if fresh and self.due_on.data is None:
            self.due_on.data = default_case_due(clock_now()).date()


class UrgeCaseForm(CaseForm):
    note = TextAreaField("催办意见", validators=[DataRequired("请填写催办意见"), Length(max=4000)])


attach_form("open_case", OpenCaseForm)
attach_form("urge_case", UrgeCaseForm, "case_id")
