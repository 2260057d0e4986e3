"""One exception type for mistakes a user can fix.

Anything raised as `UserError` reaches the terminal as one line (`nn2gpt: error: ...`)
with a non-zero exit and no traceback. The message should name the problem *and* the fix.
"""


class UserError(Exception):
    """A problem with the user's input, files or flags, explained in one line."""
