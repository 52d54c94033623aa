"""The one exception type the command line turns into a message and an exit code."""

EXIT_USAGE = 2
EXIT_NO_THRESHOLD = 1


class KincError(Exception):
    """A problem the user can fix: bad input, bad option, missing file.

    The message names the offending file, line, field or value.
    """

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
