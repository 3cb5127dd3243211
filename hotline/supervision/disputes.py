"""甄别: a unit disputes a 不满意 with evidence; the supervisor decides.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
