"""The one error type whose message is written for the team that submitted."""

_LISTED = 10


class SubmissionError(Exception):
    """A problem with what a team submitted; ``str(err)`` is shown to the team as the reason."""

    @classmethod
    def of_problems(cls, problems: list[str]) -> "SubmissionError":
        """All of a zip's problems in one reason (the first ten, then a count), so one fix-up
        round fixes them all; one problem reads as it would alone."""
        if len(problems) == 1:
            return cls(problems[0])
        shown = "; ".join(problems[:_LISTED])
        more = f"; and {len(problems) - _LISTED} more" if len(problems) > _LISTED else ""
        return cls(f"{len(problems)} problems in the zip: {shown}{more}")
