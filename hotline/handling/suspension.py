"""挂起 and 申请终止: the unit's applications about its ticket, decided by the centre.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
