"""HumanEval (Chen et al. 2021): complete a Python function; hidden ``check(candidate)`` tests run in the sandbox."""
