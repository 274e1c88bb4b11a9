"""MBPP (Austin et al. 2021): Python functions checked by their asserts in the sandbox.

Tasks: ``mbpp`` (the standard test split, task_ids 11-510), ``mbpp_full`` (all 974), ``mbpp_sanitized`` (427,
its own schema) and ``mbpp_reflectevo`` (ReflectEvo's copy of the 500-item test split, [BEGIN]/[END] format).
``extraction`` and ``execution`` are shared with HumanEval.
"""
