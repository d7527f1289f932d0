"""Form helpers the pages share: the message a refused form shows.

A page calls one core function inside ``try``; a :class:`~syncd.errors.UserError` it
raises is shown above the form (status 422/409) with what the person typed kept, rather
than the bare error page.
"""

from __future__ import annotations

from syncd.errors import FieldErrors, UserError

#: Field keys the core uses → the label people see.
_LABELS = {
    "current_password": "Current password",
    "password": "Password",
    "new_password": "New password",
    "timezone": "Time zone",
    "week_start": "Week starts on",
    "time_format": "Clock",
    "name": "Name",
    "code": "Code",
    "email": "Email",
}


def form_error(problem: UserError) -> str:
    """One sentence for the person: each field's problem, by its label."""
    if isinstance(problem, FieldErrors):
        parts = [
            f"{_LABELS.get(field, field.replace('_', ' ').capitalize())}: {error['description']}."
            for field, errors in problem.errors.items()
            for error in errors
        ]
        return " ".join(parts) or problem.message
    message = problem.message
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
