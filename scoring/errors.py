"""The one error type whose message is written for the team that submitted."""


class SubmissionError(Exception):
    """A problem with what a team submitted; ``str(err)`` is shown to the team as the reason."""
