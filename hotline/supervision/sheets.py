"""督办单 on any ticket (overdue, 领导交办, media, repeated complaints) and the centre's 催办.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
