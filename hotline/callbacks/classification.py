"""分类处置 at the callback: 已解决, 合理但暂不能解决 (纳入计划), 诉求不合理, 无法联系.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
