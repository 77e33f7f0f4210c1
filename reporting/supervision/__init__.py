"""督办单 (seed 004 十六, 十七): the regulators' supervision that acts. 逾期督办 drills down from
each count to the overdue leads and 批分单 it counts; a regulator issues a 督办单 to a bank branch or
a 职能部门 naming those items, with a due date in working days; the target's administrator signs
for it (签收) and answers (办理回复); the issuer closes it (办结); one left unanswered is marked
overdue at its due moment and escalated to the mechanism above a few working days later (the
scan). It lives in reporting because it names items of both `matching` (leads) and
`coordination` (批分单), and only the top of the dependency order may read both.

policy.py is its one table of states × actions × roles; services.py every write; selectors.py
every read (restricted); scan.py the escalation scan; views.py and apis.py the pages and API."""
