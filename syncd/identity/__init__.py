"""End-user identity for the hosted pages: passwords, TOTP, recovery codes, invites,
server-side sessions and rate-limited sign-in (docs/web.md).

It sits below the web layer and above the store; pages and the OAuth authorization flow
call these functions and never touch the tables themselves. The names other flows use:

- :func:`~syncd.identity.accounts.create_account_with_password` — a new user signs up;
- :func:`~syncd.identity.signin.verify_password_sign_in` then, when it says
  ``needs_second_factor``, :func:`~syncd.identity.signin.verify_second_factor`;
- :func:`~syncd.identity.sessions.start_session` — the signed-in session (rotated).
"""
