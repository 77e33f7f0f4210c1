"""What the audit log says in Chinese (issue 16 item 17): the name of each audited action,
each recorded change as 字段: 变更前 → 变更后 with the field's Chinese name, and the log's xlsx
(exported through portal.spreadsheets.deliver: the export is itself audited, as 导出审计日志).

The action keys are the strings services pass to `portal.services.audit_record`; a test
(tests/test_audit_log.py) reads every such call in the code and fails on an action without a
name here. Exports are named from the export registry (portal/spreadsheets.py EXPORTS), the
three reviews from their stage and decision. Kept as plain data: portal sits below the apps
that record most of these actions and imports none of them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

from portal.selectors import audit_event_list
from portal.spreadsheets import EXPORTS, HEADER, Book, File, Style
from portal.tenancy import EXPORT

ACTION_LABELS: dict[str, str] = {
    # platform: organisations, users, tokens
    "membership.grant": "授予角色",
    "user.invite": "邀请用户",
    "user.update": "修改用户",
    "user.deactivate": "停用用户",
    "user.reactivate": "启用用户",
    "user.reset_password": "重置用户密码",
    "organisation.move": "调整机构隶属",
    "organisation.contact_update": "修改机构联系人",
    "organisation.admin_add": "新增机构(管理后台)",
    "organisation.admin_change": "修改机构(管理后台)",
    "api_token.issue": "签发 API 令牌",
    "api_token.revoke": "吊销 API 令牌",
    "notification.read": "标记通知已读",
    "workdays.year_enter": "录入工作日历",
    # onboarding and forgotten passwords (entities/onboarding.py, portal/phone_codes.py)
    "phone_code.send": "发送短信验证码",
    "password.reset_by_phone": "通过手机验证码重置密码",
    "password.reset_by_email": "通过邮件重置密码",
    "enterprise.register": "企业注册并关联经营主体",
    "entity_claim.create": "提交企业认领申请",
    "entity_claim.approve": "通过企业认领",
    "entity_claim.reject": "驳回企业认领",
    # the register
    "renewal.record": "登记续贷需求",
    "renewal.renew": "续贷办结: 无还本续贷已续",
    "renewal.renew_other": "续贷办结: 其他方式续贷",
    "renewal.repaid": "续贷办结: 已还款",
    "renewal.refuse": "拒绝续贷",
    "renewal.withdraw": "撤销续贷需求",
    "entity.create": "新增经营主体",
    "entity.update": "修改经营主体",
    "entity.import": "名录库导入",
    "entity.import_failed": "名录库导入失败",
    "entity.import_submit": "提交名录库导入",
    "entity.financial_year": "录入年度财务数据",
    "entity.credit_flags": "修改信用记录",
    "entity.credit_repair": "登记信用修复",
    "entity.reveal_personal_data": "查看个人信息(明文)",
    "entity.tier_mark": "标记三型",
    "entity.honor_grant": "认定名特优新",
    "entity.honor_revoke": "撤销名特优新",
    "entity.honor_propose": "申请名特优新",
    "entity.honor_proposal_decide": "审定名特优新申请",
    "entity.bank_relationship_record": "登记本行借贷往来",
    "entity.bank_relationship_delete": "删除本行借贷往来",
    # banks and products
    "branch.create": "新增银行机构",
    "branch.move": "调整银行机构隶属",
    "product.create": "新增贷款产品",
    "product.edit": "修改产品规则(草稿)",
    "product.publish": "发布产品版本",
    "product.retire": "下架贷款产品",
    "product.scenarios_update": "修改产品场景清单",
    "product.catalog_load": "载入产品目录",
    "product.four_lists_update": "修改产品四张清单",
    "lead.direct_apply": "企业直接申请贷款产品",
    "matching.run_start": "启动全量匹配",
    "matching.run_resume": "续跑全量匹配",
    # visits and declarations
    "visit.record": "走访登记",
    # 批分单 (coordination, seed 004 二(七))
    "problem.open": "填写批分单",
    "problem.accept": "受理批分单",
    "problem.answer": "答复批分单",
    "problem.return": "退回批分单",
    "problem.reroute": "改派批分单",
    "problem.propose_escalation": "提请上报上级机制",
    "problem.approve_escalation": "同意上报上级机制",
    "problem.refuse_escalation": "不同意上报",
    "problem.close": "办结批分单",
    # 千企万户大走访 (campaigns, seed 004 二(四))
    "campaign.open": "开展大走访活动",
    "campaign.edit": "修改大走访活动",
    "campaign.start": "启动大走访活动",
    "campaign.end": "结束大走访活动",
    "campaign.build_targets": "生成走访目标企业清单",
    "campaign.import_targets": "导入部门企业名单",
    "campaign.assign": "分配走访任务",
    "supervision.issue": "下发督办单",
    "supervision.acknowledge": "签收督办单",
    "supervision.answer": "回复督办单",
    "supervision.close": "办结督办单",
    "declaration.create": "新建融资申报",
    "declaration.update": "修改融资申报",
    "declaration.submit": "提交融资申报",
    "declaration.consent": "企业同意授权",
    "declaration.withdraw": "撤回融资申报",
    "declaration.import": "批量申报导入",
    "declaration.bank_recommend": "银行推荐企业",
    "declaration.criteria_exception.confirm": "组长确认五项基本标准例外",
    "declaration.material_upload": "上传申请材料",
    "declaration.material_download": "下载申请材料",
    # the recommendation list and the leads
    "batch.signoff": "签字确认推荐清单",
    "batch.push": "推送推荐清单",
    "recommendation.redirect": "改推其他银行",
    "recommendation.remove": "移出推荐清单",
    "recommendation.assign": "分配客户经理",
    "recommendation.contact": "已对接",
    "recommendation.contact_reveal": "查看企业联系方式(明文)",
    "recommendation.materials_list": "列明所需材料",
    "recommendation.materials_submit": "材料已提交",
    "recommendation.materials_supplement": "要求补充材料",
    "recommendation.materials_complete": "材料已收齐",
    "recommendation.material_upload": "银行上传自行收集的材料",
    "recommendation.approve": "授信",
    "recommendation.decline": "不予授信",
    "recommendation.disburse": "放款",
    "recommendation.not_drawn": "未提款",
    "recommendation.coach": "辅导企业",
    "recommendation.rate": "企业评价",
    # corrections of what was recorded by mistake (issue 16 item 6)
    "recommendation.correct_state": "更正线索状态(撤销误登记)",
    "recommendation.correct_decision": "更正授信决定",
    "recommendation.correct_disbursement": "更正放款",
    "recommendation.material_withdraw": "撤回误传的材料",
    "batch.entry_correct": "移出未推送的批次",
    # reports
    "reporting.bank_report": "银行报送",
    "reporting.target_set": "设定目标任务",
    "reporting.brief_subscribe": "订阅工作简报",
    "reporting.brief_unsubscribe": "退订工作简报",
}

# the three reviews and the sign-off: "declaration.<stage>.<decision>"
REVIEW_STAGES = {
    "preliminary_review": "专班初审",
    "bank_review": "专班银行审核",
    "lead_review": "专班组长审核",
    "convener_signoff": "召集人签字确认",
}
REVIEW_DECISIONS = {"approve": "通过", "return": "退回修改", "reject": "不通过"}
for _stage, _stage_label in REVIEW_STAGES.items():
    for _decision, _decision_label in REVIEW_DECISIONS.items():
        ACTION_LABELS[f"declaration.{_stage}.{_decision}"] = f"{_stage_label}: {_decision_label}"
for _export in EXPORTS.values():
    ACTION_LABELS[_export.action] = _export.title if _export.title.endswith("导出") else f"导出{_export.title}"

# keys of recorded changes that are no model field, or whose field name would mislead
FIELD_LABELS: dict[str, str] = {
    "export": "导出内容",
    "file": "文件名",
    "format": "格式",
    "rows": "行数",
    "filters": "筛选条件",
    "personal_data": "含个人信息",
    "via": "途径",
    "comment": "意见",
    "note": "说明",
    "reason": "原因",
    "material": "材料编号",
    "name": "名称",
    "content_type": "文件类型",
    "size": "大小(字节)",
    "item": "对应材料",
    "items": "所需材料",
    "missing": "待补充材料",
    "role": "角色",
    "user": "用户",
    "organisation": "机构",
    "parent": "上级机构",
    "fields": "字段",
    "revealed": "查看的字段",
    "count": "条数",
    "created": "新增",
    "updated": "更新",
    "errors": "错误",
    "year": "年度",
    "days": "天数",
    "version": "版本",
    "run": "匹配批次",
    "products": "产品",
    "batch": "批次",
    "declarations": "申报",
    "recommendations": "线索",
    "manager": "客户经理",
    "amount": "金额(元)",
    "state": "状态",
    "decision": "决定",
    "scenarios": "场景清单",
    "tier": "三型标记",
    "honor": "名特优新",
    "valid_until": "有效期至",
    "source": "来源",
    "bank": "银行",
    "consent": "企业已授权",
    "unmet": "未满足的基本标准",
    "action": "申请事项",
    "kind": "类别",
    "proposal": "申请编号",
    "marked_on": "标记日期",
    "chunks": "分块数",
    "rate": "年利率(%)",
    "term_months": "期限(月)",
    "ids": "线索编号",
    "channel": "对接方式",
    "on": "日期",
    "score": "评分",
    "full_name": "姓名",
    "phone": "手机号",
    "email": "电子邮箱",
    "is_active": "启用",
    "username": "用户名",
}


@dataclass(frozen=True)
class Change:
    """One recorded field: its Chinese name, the value before and after (as text; "" = none)."""

    label: str
    before: str
    after: str


def action_label(action: str) -> str:
    """The action's Chinese name; an action recorded by an older version keeps its key."""
    return ACTION_LABELS.get(action, action)


def action_choices() -> list[tuple[str, str]]:
    """Every named action, for the filter's drop-down: (key, name), by name."""
    return sorted(ACTION_LABELS.items(), key=lambda item: (item[1], item[0]))


def field_label(model, key: str) -> str:
    """A recorded key's Chinese name: the explicit name above, else the audited model's field
    verbose_name, else the key."""
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    if model is not None:
        field = _field(model, key)
        if getattr(field, "verbose_name", None):  # a reverse relation has none
            return str(field.verbose_name)
    return key


def _field(model, key: str):
    if model is None:
        return None
    try:
        return model._meta.get_field(key)
    except FieldDoesNotExist:
        return None


# codes recorded under a key that is not a field of the audited object: where their Chinese
# names are, as (app label, model, field) — a field with choices, or a code table's code and label
CODED_KEYS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("matching.recommendation", "channel"): ("matching", "Recommendation", "contact_channel"),
    ("matching.recommendation", "reason"): ("matching", "DeclineReason", "code:label"),
    ("entities.marketentity", "action"): ("entities", "HonorProposal", "action"),
    ("entities.marketentity", "kind"): ("entities", "HonorProposal", "kind"),
}
# an uploaded file's type as the upload fields name it
FILE_TYPES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPG"}


def _coded(model, key: str, value) -> str | None:
    """The Chinese name of a code recorded under a key CODED_KEYS knows, else None."""
    if model is None or (model._meta.label_lower, key) not in CODED_KEYS:
        return None
    app_label, model_name, field_name = CODED_KEYS[(model._meta.label_lower, key)]
    source = apps.get_model(app_label, model_name)
    if ":" in field_name:
        code, label = field_name.split(":")
        return source.objects.filter(**{code: value}).values_list(label, flat=True).first()
    return dict(source._meta.get_field(field_name).flatchoices).get(value)


def _shown(model, key: str, value) -> str:
    """A value as text; a coded value of a model field with choices by its Chinese label."""
    field = _field(model, key)
    choices = dict(getattr(field, "flatchoices", None) or ())
    if choices and not isinstance(value, list | dict) and value in choices:
        return str(choices[value])
    if isinstance(value, str) and value:
        named = _coded(model, key, value) or (FILE_TYPES.get(value) if key == "content_type" else None)
        if named:
            return str(named)
    return _text(value)


def _text(value) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list):
        return "、".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value) if not isinstance(value, float) else json.dumps(value)


def changes(event) -> list[Change]:
    """The event's before/after, field by field (keys in the order recorded, before's first)."""
    before = event.before if isinstance(event.before, dict) else ({} if event.before is None else {"": event.before})
    after = event.after if isinstance(event.after, dict) else ({} if event.after is None else {"": event.after})
    model = event.object_type.model_class() if event.object_type_id else None
    keys = list(dict.fromkeys([*before, *after]))
    return [
        Change(
            field_label(model, key) if key else "内容",
            _shown(model, key, before.get(key)),
            _shown(model, key, after.get(key)),
        )
        for key in keys
        if before.get(key) != after.get(key) or key not in before
    ]


def change_lines(event) -> str:
    """The changes as lines of text ("字段: 前 → 后", or "字段: 值" when nothing was before)."""
    return "\n".join(
        f"{c.label}: {c.before} → {c.after}" if c.before else f"{c.label}: {c.after}" for c in changes(event)
    )


EXPORT_HEADERS = ["序号", "时间", "操作人", "所属机构", "动作", "对象类型", "对象", "变更内容", "IP"]
EXPORT_LIMIT = 50_000


def object_kind(event) -> str:
    """The Chinese name of the kind of object the event is about ("" for none)."""
    model = event.object_type.model_class() if event.object_type_id else None
    return str(model._meta.verbose_name) if model else ""


def described(events):
    """The events with what the list page shows of each: `action_label`, `changes` (field by
    field) and `object_kind`."""
    for event in events:
        event.action_label = action_label(event.action)
        event.changes = changes(event)
        event.object_kind = object_kind(event)
    return events


def audit_export(*, actor, filters: dict, labels: dict[str, str]) -> tuple[File, dict[str, str]]:
    """The audit log's xlsx: the events `actor` may export (restricted for EXPORT), filtered as
    the list is (`filters` as portal.selectors.audit_event_list takes them, `labels` their
    Chinese names for the sheet's subtitle); and the filters as text, for the export's own
    audit record (the caller delivers the file through portal.spreadsheets.deliver)."""
    shown = {name: str(value) for name, value in filters.items()}
    subtitle = "; ".join(f"{labels.get(name, name)}: {value}" for name, value in shown.items()) or "全部"
    events = audit_event_list(user=actor, purpose=EXPORT, **filters)
    return _audit_xlsx(events, subtitle=f"筛选: {subtitle}"), shown


def _audit_xlsx(events, *, subtitle: str) -> File:
    """The audit log as the list shows it (newest first, at most EXPORT_LIMIT events), printed
    one page wide with the header repeated."""
    book = Book()
    sheet = book.sheet("审计日志")
    sheet.append(["审计日志"], style=Style(bold=True, size=14))
    sheet.append([subtitle])
    sheet.append(EXPORT_HEADERS, style=HEADER)
    count = 0
    for count, event in enumerate(events[:EXPORT_LIMIT], start=1):
        sheet.append(
            [
                count,
                event.created_at,
                _actor_name(event.actor),
                event.organisation.name if event.organisation_id else "",
                action_label(event.action),
                object_kind(event),
                event.object_repr,
                change_lines(event),
                event.ip_address or "",
            ],
            style=Style(border=True, wrap=True),
        )
    sheet.widths([6, 18, 16, 20, 20, 14, 28, 60, 16])
    sheet.freeze("A4")
    sheet.print_one_page_wide(title_rows="3:3")
    return book.file("审计日志.xlsx", rows=count)


def _actor_name(user) -> str:
    if user is None:
        return "系统"
    full = f"{user.last_name}{user.first_name}".strip()
    return f"{full} ({user.username})" if full else user.username
