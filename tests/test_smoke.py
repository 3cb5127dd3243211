from hotline.enums import TicketState


def test_record_and_dispatch(world):
    t = world.dispatched()
    assert t.state is TicketState.DISPATCHED
    assert t.number.startswith("12345-20261123-")
