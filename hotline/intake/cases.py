"""受理 cases: 不予受理, 转应急处置, 回退 and correction, anonymous requests, 撤单.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
