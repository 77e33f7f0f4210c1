"""Celery queues per workload: the one table that says which queue each task goes to.

Every task the portal registers has its row in ``TASK_QUEUES`` (a test fails for a task
without one, and for a row whose task no longer exists). ``portal/celery.py`` turns the table
into Celery's ``task_routes``, so ``.delay()``, ``apply_async()`` and ``send_task(NAME)`` (how
the services and beat enqueue) all land in the task's queue; a caller may still name another
queue explicitly (the tests do, to give a worker of their own a queue of its own).

A queue group is what one kind of worker consumes: ``docker-compose.yml`` runs one worker
service per group (``celery -A portal worker -Q <the group's queues>``), so a long matching
run never delays a deadline scan or an e-mail, and each group scales on its own hosts. The
embedded default (``make run``) and the test command run one worker that consumes every
queue (``ALL_QUEUES``). Beat stays exactly one process; it only enqueues, by task name.
"""

import sys

DEFAULT_QUEUE = "default"

# queue -> what it carries (the README's table is this one)
QUEUES = {
    "matching": "批量匹配: 全量运行的分块与切换, 实体或产品变更后的增量重匹配, 夜间全量, 续跑清扫",
    "deadlines": "时限扫描: 反馈与决定时钟的逾期与提醒, 批分单与督办单的逾期扫描, 授信依据巡检, 时钟重算",
    "imports": "导入: 主体名录导入, 划型重算",
    "reports": "报表与导出: 每周成效统计表的生成, 统计索引的补同步",
    "notifications": "通知与邮件: 通知邮件的发送与补发, 报表邮件补发, 续贷到期提醒",
    DEFAULT_QUEUE: "其他: 健康检查 (ping), beat 心跳, Celery 自身的任务",
}

# task name (as written in each @shared_task) -> queue
TASK_QUEUES = {
    # batch_matching/tasks.py
    "matching.batch.process_chunk": "matching",
    "matching.batch.finalize": "matching",
    "matching.batch.rematch_entities": "matching",
    "matching.batch.rematch_product": "matching",
    "matching.batch.nightly_run": "matching",
    "matching.batch.sweep": "matching",
    # the periodic scans
    "matching.tasks.scan_deadlines": "deadlines",
    "coordination.tasks.scan_problems": "deadlines",
    "reporting.tasks.scan_supervision": "deadlines",
    "campaigns.tasks.scan_overdue_visits": "deadlines",
    "matching.tasks.watch_credit_basis": "deadlines",
    "matching.tasks.recompute_provisional_clocks": "deadlines",
    # entities/tasks.py
    "entities.tasks.run_entity_import": "imports",
    "entities.tasks.recompute_tiers": "imports",
    # reporting/tasks.py
    "reporting.tasks.weekly_reports": "reports",
    "reporting.tasks.build_mechanism_report": "reports",
    "reporting.tasks.build_mechanism_brief": "reports",
    "reporting.tasks.sync_facts": "reports",
    # notifications and e-mail
    "matching.tasks.send_notification_email": "notifications",
    "matching.tasks.send_notification_emails": "notifications",
    "matching.tasks.sweep_notification_emails": "notifications",
    "reporting.tasks.mail_unsent_reports": "notifications",
    "entities.tasks.remind_renewals": "notifications",
    # portal/tasks.py
    "portal.tasks.ping": DEFAULT_QUEUE,
    "portal.tasks.beat_heartbeat": DEFAULT_QUEUE,
}

# worker group (one docker-compose service each) -> the queues it consumes
QUEUE_GROUPS = {
    "matching": ("matching",),
    # the scans are short and periodic: the same workers take the heartbeat and the health ping
    "deadlines": ("deadlines", DEFAULT_QUEUE),
    "imports": ("imports",),
    "reports": ("reports",),
    "notifications": ("notifications",),
}

ALL_QUEUES = tuple(QUEUES)

TASK_ROUTES = {name: {"queue": queue} for name, queue in TASK_QUEUES.items()}


def queues_argument(group: str | None = None) -> str:
    """The worker's ``-Q`` value: a group's queues, or every queue (one worker for all)."""
    return ",".join(QUEUE_GROUPS[group] if group else ALL_QUEUES)


if __name__ == "__main__":  # `python portal/queues.py [group]`: the scripts' -Q value
    print(queues_argument(sys.argv[1] if len(sys.argv) > 1 else None))
