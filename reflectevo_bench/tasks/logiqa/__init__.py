"""LogiQA: logical-reasoning reading comprehension, four options A-D (the hub copy and ReflectEvo's 500 items)."""
