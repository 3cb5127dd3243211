"""领导签批: a supervised ticket's re-handled result signed off by a leader before the callback.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
