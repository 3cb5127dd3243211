"""The hotline's process, top to bottom. Importing this registers every lifecycle action
with its form: 受理 → 派单 → 承办 (签收, 下派, 退单, 延期, 反馈) → 审核 → 回访 → 督办."""
from hotline.intake import operations as _intake  # noqa: F401
from hotline.dispatch import operations as _dispatch  # noqa: F401
from hotline.handling import extensions as _extensions, operations as _handling  # noqa: F401
from hotline.review import operations as _review  # noqa: F401
from hotline.callbacks import operations as _callbacks  # noqa: F401
from hotline.supervision import operations as _supervision  # noqa: F401

from hotline.intake import forms as _intake_forms  # noqa: F401,E402  (forms attach to the actions above)
from hotline.dispatch import forms as _dispatch_forms  # noqa: F401,E402
from hotline.handling import forms as _handling_forms  # noqa: F401,E402
from hotline.review import forms as _review_forms  # noqa: F401,E402
from hotline.callbacks import forms as _callback_forms  # noqa: F401,E402
from hotline.supervision import forms as _supervision_forms  # noqa: F401,E402
