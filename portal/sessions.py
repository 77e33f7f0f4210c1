"""The session store (SESSION_ENGINE): Django's database sessions, with the one read every
signed-in request makes written once.

Sessions stay in the database (ARCHITECTURE "Who is signed in": the cache's Redis may be down,
and a sign-out must end the session everywhere). Django's store reads the row through the ORM,
which compiles the same `SELECT … WHERE session_key = %s AND expire_date > %s` on every request;
here it is a statement written once per database alias and read with a cursor (bench-load:
about a fortieth of a page's CPU). Only the read differs: the row's data is decoded, expired
and unknown keys give an empty session, and creating, saving, deleting and `clearsessions` are
Django's own."""

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

_READS: dict[str, str] = {}


def _read_sql(alias: str, model) -> str:
    qn = connections[alias].ops.quote_name
    meta = model._meta
    key, data, expire = (meta.get_field(name).column for name in ("session_key", "session_data", "expire_date"))
    return f"SELECT {qn(data)} FROM {qn(meta.db_table)} WHERE {qn(key)} = %s AND {qn(expire)} > %s"


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        model = self.model
        alias = router.db_for_read(model)
        sql = _READS.get(alias)
        if sql is None:
            sql = _READS[alias] = _read_sql(alias, model)
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's store: an unknown or expired key is dropped
            return None
        return model(session_key=self.session_key, session_data=row[0])
