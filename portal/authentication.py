"""The session's user, read once per request with the scope he acts as.

Django's ModelBackend reads the user by primary key on every signed-in request, and the first
`restrict()` of the request then reads his membership, organisation and region (`scope_for`).
`SessionUserBackend` reads both in one statement (`tenancy.signed_in_user`); signing in (the
password check, django-axes' throttle before it) is ModelBackend's, unchanged. A deactivated
user is refused exactly as ModelBackend refuses him (`user_can_authenticate`).
"""

from django.contrib.auth.backends import ModelBackend

from portal.tenancy import signed_in_user

# the path a session records (a view that signs a user in without a password names it)
SESSION_BACKEND = "portal.authentication.SessionUserBackend"


class SessionUserBackend(ModelBackend):
    def get_user(self, user_id):
        user = signed_in_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
