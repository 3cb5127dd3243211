"""Import every model so Alembic and create_all see the whole schema."""
from hotline.admin.models import Category, Setting, Unit  # noqa: F401
from hotline.auth.models import User, UserRole  # noqa: F401
from hotline.callbacks.models import Callback, StatusLookup  # noqa: F401
from hotline.deadlines.models import CalendarYear, HolidayOverride, TimeLimitPolicy  # noqa: F401
from hotline.escalation.models import (Alert, Escalation, JobRun, Notification,  # noqa: F401
                                       SupervisionCase, SupervisionProgress)
from hotline.tickets.models import (Assignment, ExtensionRequest, Reply, Ticket,  # noqa: F401
                                    TicketEvent, TicketReturn, TicketSequence)
from hotline.intake.models import KnowledgeArticle  # noqa: F401
from hotline.routing.models import RoutingRule  # noqa: F401
from hotline.tickets.models import Attachment  # noqa: F401
from hotline.reports.models import WeeklyReport  # noqa: F401
