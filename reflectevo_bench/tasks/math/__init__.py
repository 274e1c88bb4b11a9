"""MATH (Hendrycks et al.), MATH-500 and ReflectEvo's MATH test split, checked with math-verify."""
