"""The one exception type that means "the user gave us something we cannot use"."""


class InputError(Exception):
    """A user-facing problem with an input file or argument.

    The message is one line that names the file or argument, says what is wrong and,
    where possible, what to do. The CLI prints it as ``error: <message>`` and exits 2
    (``reactive.guard.run_guarded``); anything else escaping is a bug in this project.
    """
