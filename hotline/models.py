"""Import every model so Alembic and create_all see the whole schema."""
from hotline.admin.models import Setting  # noqa: F401
from hotline.audit.models import AuditEntry  # noqa: F401
from hotline.api.models import ApiToken, IdempotencyKey  # noqa: F401
from hotline.auth.models import User, UserRole  # noqa: F401
from hotline.callbacks.models import Callback, StatusLookup  # noqa: F401
from hotline.categories.models import Category  # noqa: F401
from hotline.deadlines.models import CalendarYear, HolidayOverride, TimeLimitPolicy  # noqa: F401
from hotline.intake.models import KnowledgeArticle  # noqa: F401
from hotline.notifications.models import Notification  # noqa: F401
from hotline.reports.models import ReportSnapshot  # noqa: F401
from hotline.routing.models import RoutingRule  # noqa: F401
from hotline.scheduler.models import Alert, Escalation, JobRun  # noqa: F401
from hotline.supervision.models import (Dispute, Instruction, SupervisionCase,  # noqa: F401
                                       SupervisionProgress, SupervisionUrge)
from hotline.dispatch.models import Coordination  # noqa: F401
from hotline.handling.models import Suspension, Termination  # noqa: F401
from hotline.review.models import LeaderSignoff  # noqa: F401
from hotline.tickets.history import AssignmentVersion  # noqa: F401
from hotline.tickets.models import (Assignment, Attachment, ExtensionRequest, Reply, Ticket,  # noqa: F401
                                    TicketEvent, TicketReturn, TicketSequence)
from hotline.units.models import Unit  # noqa: F401
from hotline.ratelimit.models import RateLimitHit  # noqa: F401
from hotline.refcache import ReferenceVersion  # noqa: F401
from hotline.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription  # noqa: F401
