"""The hotline's process, top to bottom. Importing this registers every lifecycle action
with its form: 受理 → 派单 → 承办 (签收, 下派, 退单, 延期, 挂起, 反馈) → 审核 (签批) → 回访 → 督办."""
from hotline.intake import cases as _intake_cases, operations as _intake  # noqa: F401
from hotline.dispatch import coordination as _coordination, operations as _dispatch, split as _split  # noqa: F401
from hotline.handling import extensions as _extensions, operations as _handling  # noqa: F401
from hotline.handling import suspension as _suspension  # noqa: F401
from hotline.review import operations as _review, signoff as _signoff  # noqa: F401
from hotline.callbacks import classification as _classification, operations as _callbacks  # noqa: F401
from hotline.supervision import disputes as _disputes, operations as _supervision, sheets as _sheets  # noqa: F401

# the forms attach to the actions above
from hotline.intake import cases_forms as _f1, forms as _f2  # noqa: F401,E402
from hotline.dispatch import coordination_forms as _f3, forms as _f4, split_forms as _f5  # noqa: F401,E402
from hotline.handling import forms as _f6, suspension_forms as _f7  # noqa: F401,E402
from hotline.review import forms as _f8, signoff_forms as _f9  # noqa: F401,E402
from hotline.callbacks import classification_forms as _f10, forms as _f11  # noqa: F401,E402
from hotline.supervision import disputes_forms as _f12, forms as _f13, sheets_forms as _f14  # noqa: F401,E402
