"""User-facing errors: one line saying what is wrong and what to do, exit code 2."""


class BenchError(Exception):
    """Bad input from the user. The CLI prints the message on one line and exits with code 2."""

    exit_code = 2
