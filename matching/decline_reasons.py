"""The maintained catalogue of 不予授信 reasons: code, label, whether the entity can fix it, how.

Seed 004 三(六): "对不符合信贷条件的清单内小微企业, 银行机构应在 5 个工作日内向专班反馈, 并由
工作专班指导乡镇、街道及银行机构跟进辅导" — a decline carries an explanation the task force can
coach from. Each coded reason carries its fix path (`advice`), shown in Chinese to the task
force (the declaration and lead pages, its 工作台) and to the enterprise (its case page and
home page, and the decline's notification). 其他原因 has no fix path of its own: the bank must
explain it in the note (`require_note`, called by the decline service, so the page and the
API both refuse a decline without it, as a field error of `note`)."""

from matching.models import DeclineReason
from portal.errors import ApplicationError

# the reasons whose explanation is the bank's note
NOTE_REQUIRED = frozenset({"other"})

DECLINE_REASONS = [
    ("operating_too_short", "经营时间不足", True, "经营满规定年限(如 1 年、2 年)后可再申请"),
    ("revenue_insufficient", "经营收入不足以覆盖还款", True, "提供完整的收入流水佐证, 或降低申请金额后再申请"),
    ("credit_overdue", "征信存在逾期记录", True, "结清逾期并保持 6 个月以上良好记录后可再申请"),
    ("dishonest_debtor", "失信被执行人或联合惩戒对象", True, "履行义务并完成信用修复后可再申请"),
    ("abnormal_operation", "经营异常或登记状态异常", True, "申请移出经营异常名录、完成信用修复后可再申请"),
    ("high_debt", "负债过高", True, "降低负债后可再申请"),
    ("purpose_non_compliant", "贷款用途不合规", True, "调整为合规的生产经营用途后可再申请"),
    ("materials_incomplete", "申请材料不全或不实", True, "补齐真实、完整的申请材料后可再申请"),
    ("no_need", "企业暂无融资需求", True, "有需求时可重新申报"),
    ("cannot_contact", "无法联系到企业", True, "核实联系方式后可重新推送"),
    ("outside_service_area", "不在本行服务区域", False, "建议推荐至服务该地区的银行"),
    ("industry_restricted", "行业不符合信贷政策", False, "建议推荐至其他银行或政府性融资担保"),
    ("other", "其他原因", False, ""),
]


def sync_decline_reasons(apps=None) -> int:
    model = apps.get_model("matching", "DeclineReason") if apps else DeclineReason
    for ordering, (code, label, curable, advice) in enumerate(DECLINE_REASONS, start=1):
        model.objects.update_or_create(
            code=code, defaults={"label": label, "curable": curable, "advice": advice, "ordering": ordering}
        )
    return len(DECLINE_REASONS)


def require_note(reason: DeclineReason, note: str) -> None:
    """A decline for a reason without a fix path of its own (其他原因) must say why in the note."""
    if reason.code in NOTE_REQUIRED and not str(note or "").strip():
        message = f"不予授信原因为「{reason.label}」时须填写说明(具体原因及企业可如何改进), 以便专班辅导和企业整改"
        raise ApplicationError(message, field_errors={"note": [message]})
