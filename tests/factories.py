"""Factories for test data: units, categories, users, and tickets driven to any state
through the real lifecycle services (so every test ticket has a true history)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import factory

from hotline.categories.models import Category
from hotline.units.models import Unit, assign_path
from hotline.auth.models import User
from hotline.clock import clock
from hotline.enums import Role, Satisfaction, UnitKind
from hotline.extensions import db
from tests import svc

PASSWORD = "secret-pass-1"


class UnitFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Unit
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    code = factory.Sequence(lambda n: f"U{n:04d}")
    name = factory.Sequence(lambda n: f"单位{n}")
    kind = UnitKind.DEPARTMENT
    level = 2
    parent = None

    @factory.post_generation
    def _path(obj, create, extracted, **kw):
        db.session.flush()
        assign_path(obj)
        db.session.flush()


class CategoryFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Category
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    code = factory.Sequence(lambda n: f"C{n:04d}")
    name = factory.Sequence(lambda n: f"分类{n}")
    full_name = factory.LazyAttribute(lambda o: o.name)


class UserFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.username)
    password_hash = ""

    @factory.post_generation
    def roles(obj, create, extracted, **kw):
        obj.set_roles(extracted or [])

    @factory.post_generation
    def password(obj, create, extracted, **kw):
        obj.set_password(extracted or PASSWORD)
        db.session.flush()


@dataclass
class World:
    centre: Unit
    district: Unit
    street: Unit
    community: Unit
    housing: Unit
    water: Unit
    other_district: Unit
    category: Category
    operator: User
    dispatcher: User
    callback_agent: User
    supervisor: User
    manager: User
    admin: User
    leader: User
    district_staff: User
    street_staff: User
    community_staff: User
    housing_staff: User
    water_staff: User
    other_staff: User
    extra: dict = field(default_factory=dict)

    def draft(self, **over) -> dict:
        data = dict(channel="phone", request_type="help", category_id=self.category.id, urgency="normal",
                    caller_name="张先生", caller_phone="13800001111", confidential=False,
                    address="幸福路 12 号", district_id=self.district.id, title="小区电梯故障",
                    content="幸福小区 3 号楼电梯停运三天，老人上下楼困难，请尽快维修。")
        data.update(over)
        return data

    # --- drive a ticket through the real services --------------------------------------
    def record(self, **over):
        return svc.record_ticket(self.operator, self.draft(**over))

    def dispatched(self, lead=None, cos=(), **over):
        t = self.record(**over)
        return svc.dispatch(t.id, self.dispatcher, t.version, (lead or self.district).id, [u.id for u in cos])

    def signed(self, lead=None, cos=(), **over):
        t = self.dispatched(lead, cos, **over)
        staff = self.staff_of(t.lead_unit)
        return svc.sign(t.id, staff, t.version)

    def replied(self, **over):
        t = self.signed(**over)
        svc.reply(t.id, self.staff_of(t.lead_unit), t.version, "已联系物业公司修复电梯，恢复运行。")
        return db.session.get(type(t), t.id)

    def reviewed(self, **over):
        t = self.replied(**over)
        return svc.review(t.id, self.dispatcher, t.version, accept=True)

    def unsatisfied(self, **over):
        """不满意 with the request judged unreasonable: it waits for a supervisor's decision
        (a reasonable 不满意 reopens at once)."""
        t = self.reviewed(**over)
        svc.record_callback(t.id, self.callback_agent, t.version, reached=True, resolution="unresolved",
                            satisfaction=Satisfaction.UNSATISFIED, citizen_words="电梯还是坏的",
                            request_reasonable=False)
        return db.session.get(type(t), t.id)

    def staff_of(self, unit: Unit) -> User:
        for u in (self.district_staff, self.street_staff, self.community_staff, self.housing_staff,
                  self.water_staff, self.other_staff):
            if u.unit_id == unit.id:
                return u
        raise LookupError(unit)


def build_world() -> World:
    centre = UnitFactory(code="CENTRE", name="12345热线中心", kind=UnitKind.CENTRE, level=1)
    district = UnitFactory(code="D1", name="东城区人民政府", kind=UnitKind.DISTRICT, level=2, parent=centre)
    street = UnitFactory(code="D1S1", name="东华街道办事处", kind=UnitKind.STREET, level=3, parent=district)
    community = UnitFactory(code="D1S1C1", name="幸福社区居委会", kind=UnitKind.COMMUNITY, level=4, parent=street)
    housing = UnitFactory(code="HOUSING", name="市住房和城乡建设局", kind=UnitKind.DEPARTMENT, level=2, parent=centre)
    water = UnitFactory(code="WATER", name="市自来水公司", kind=UnitKind.ENTERPRISE, level=2, parent=centre)
    other = UnitFactory(code="D2", name="西城区人民政府", kind=UnitKind.DISTRICT, level=2, parent=centre)
    root = CategoryFactory(code="CJ", name="城乡建设", full_name="城乡建设")
    mid = CategoryFactory(code="CJ-WY", name="物业管理", full_name="城乡建设 › 物业管理", parent=root)
    leaf = CategoryFactory(code="CJ-WY-DT", name="电梯故障", full_name="城乡建设 › 物业管理 › 电梯故障", parent=mid)

    def user(name, unit, *roles):
        return UserFactory(username=name, unit=unit, roles=list(roles))

    w = World(
        centre=centre, district=district, street=street, community=community, housing=housing, water=water,
        other_district=other, category=leaf,
        operator=user("operator", centre, Role.OPERATOR),
        dispatcher=user("dispatcher", centre, Role.DISPATCHER),
        callback_agent=user("callback", centre, Role.CALLBACK_AGENT),
        supervisor=user("supervisor", centre, Role.SUPERVISOR),
        manager=user("manager", centre, Role.MANAGER),
        admin=user("admin", centre, Role.ADMIN),
        leader=user("leader", centre, Role.LEADER),
        district_staff=user("d1staff", district, Role.UNIT_STAFF),
        street_staff=user("s1staff", street, Role.UNIT_STAFF),
        community_staff=user("c1staff", community, Role.UNIT_STAFF),
        housing_staff=user("housing", housing, Role.UNIT_STAFF),
        water_staff=user("water", water, Role.UNIT_STAFF),
        other_staff=user("d2staff", other, Role.UNIT_STAFF),
    )
    w.leader.title = "分管副主任"
    db.session.commit()
    return w


def at(when):
    clock.set(when)
    return when


def later(**kw):
    return clock.advance(timedelta(**kw))
