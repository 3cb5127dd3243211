"""Admin pages: one blueprint, `admin`, with each area's routes in its own module
(organisation, taxonomy, time_limits, settings); importing this package registers them
all on it."""
from hotline.admin.views import organisation, settings, taxonomy, time_limits, tokens  # noqa: F401  (register routes)
from hotline.admin.views.base import bp
from hotline.webhooks import views as _webhooks  # noqa: F401,E402  (事件推送 pages, on this blueprint)

__all__ = ["bp"]
