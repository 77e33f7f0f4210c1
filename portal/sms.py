"""Text messages (SMS), sent through a pluggable backend like Django's e-mail.

`settings.SMS_BACKEND` names the backend class (a dotted path). Two come with the portal:

- `portal.sms.ConsoleBackend` (the default): writes each message to the console log
  (logger ``portal.sms``) and keeps the last ones in `portal.sms.recent`, where a developer
  reads the code he was sent, as the console e-mail backend prints mails;
- `portal.sms.LocmemBackend` (tests): appends each message to `portal.sms.outbox`, like
  ``django.core.mail.outbox``.

A real gateway is one more class with a `send_messages(messages)` method. Messages are sent
after the transaction that issued them commits (`send_sms`)."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger("portal.sms")

outbox: list[SmsMessage] = []
recent: deque[SmsMessage] = deque(maxlen=50)


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    sent_at: object = field(default_factory=timezone.now)


class BaseBackend:
    def send_messages(self, messages: list[SmsMessage]) -> int:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    def send_messages(self, messages):
        for message in messages:
            logger.warning("短信 → %s: %s", message.phone, message.text)
            recent.append(message)
        return len(messages)


class LocmemBackend(BaseBackend):
    def send_messages(self, messages):
        outbox.extend(messages)
        return len(messages)


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(phone: str, text: str) -> None:
    """Send `text` to `phone` once the current transaction commits (at once outside one)."""
    message = SmsMessage(phone=phone, text=text)
    transaction.on_commit(lambda: get_backend().send_messages([message]))
