"""MATH (Hendrycks et al.), MATH-500 and ReflectEvo's MATH test split, checked with math-verify.

The folder is not called ``math`` so that it never shadows the standard library's ``math`` for readers and
static analysers; the task names (``math``, ``math500``, ``math_reflectevo``) are unchanged."""
