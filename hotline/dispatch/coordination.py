"""上级协调: a ticket returned too often is decided by the supervising level.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
