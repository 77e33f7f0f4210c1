from matching.notifications import unread_count


def notifications(request):
    """The bell in the page shell: the signed-in user's unread notifications."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": unread_count(user)}
