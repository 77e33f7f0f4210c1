from matching import selectors


def notifications(request):
    """The unread count on the 通知 navigation item (the API's unread-count is the same selector)."""
    return {"unread_notifications": selectors.notification_unread_count(user=getattr(request, "user", None))}
