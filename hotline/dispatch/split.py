"""并单 and 拆单 after dispatch.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
