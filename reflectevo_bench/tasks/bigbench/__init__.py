"""BIG-bench JSON tasks (multiple choice via ``target_scores``, free text via ``target``) and ReflectEvo's mix."""
