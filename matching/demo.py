"""Demo declarations and recommendations in every state, in 泽州县, so each role's pages are
alive after `make run`. Idempotent: skipped once the demo declarations exist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric, uscc

from entities import services as entity_services
from entities.models import MarketEntity
from matching import services as s
from matching import watch
from matching.clocks import deadline_scan
from matching.materials import lead_material_upload, material_upload
from matching.models import ClockKind, ClockState, DeadlineClock, Declaration, Recommendation
from portal.models import Membership, Organisation, OrganisationKind, Role
from products.models import LoanProduct
from products.services import product_four_lists_update

CRITERIA = {
    k: {"met": True, "evidence": "走访核实"}
    for k in ("compliant_operation", "fixed_premises", "genuine_need", "good_credit", "lawful_purpose")
}

DEMO_ENTITIES = [
    # name, revenue, established, insured, tax record
    ("泽州县晋味源面馆", 860_000, dt.date(2019, 4, 12), 2, True),
    ("泽州县巴公镇鑫旺建材店", 1_500_000, dt.date(2016, 8, 3), 5, True),
    ("泽州县南村镇绿野家庭农场", 420_000, dt.date(2021, 3, 20), 0, False),
    ("泽州县金村镇兴隆五金店", 640_000, dt.date(2018, 11, 5), 1, True),
    ("泽州县高都镇福满楼饭店", 2_300_000, dt.date(2015, 6, 18), 8, True),
    ("泽州县大东沟镇顺达物流部", 980_000, dt.date(2020, 9, 9), 3, True),
    ("泽州县周村镇百佳超市", 1_250_000, dt.date(2017, 2, 14), 4, True),
    ("泽州县川底镇丰收农资店", 530_000, dt.date(2022, 5, 30), 1, False),
    ("泽州县李寨乡山茱萸合作社", 380_000, dt.date(2020, 4, 1), 2, True),
    ("泽州县下村镇便民药店", 720_000, dt.date(2019, 10, 10), 2, True),
    ("泽州县北义城镇利民汽修", 910_000, dt.date(2018, 7, 7), 3, True),
    ("泽州县柳树口镇兴农粮油店", 460_000, dt.date(2024, 12, 1), 1, True),
    ("泽州县犁川镇红星服装店", 300_000, dt.date(2021, 1, 8), 0, True),
    # the five basic criteria: an exception waiting for the lead, one he confirmed; a bank's
    # recommendation waiting for the enterprise's consent
    ("泽州县大阳镇老街炒货店", 520_000, dt.date(2019, 9, 1), 1, True),
    ("泽州县晋庙铺镇兴达养殖场", 1_100_000, dt.date(2018, 3, 15), 4, True),
    ("泽州县巴公镇惠民便利店", 680_000, dt.date(2020, 11, 20), 1, True),
    # the application materials of their leads (issue 15 item 17): one left unconfirmed by the
    # bank until its decision clock started on its own, one sent back for more
    ("泽州县晋庙铺镇惠民菜店", 560_000, dt.date(2019, 6, 6), 1, True),
    ("泽州县南岭镇天成木业", 1_100_000, dt.date(2017, 9, 12), 4, True),
    # the requested repayment mode (issue 15 item 8): 按月结息、到期一次性还本 over 24 months at the
    # 农信社, which 晋享贷 refuses ("采用按月结息，到期一次性还本的授信期限最长不超过1年", seed 000)
    ("泽州县北石店镇晋香醋坊", 780_000, dt.date(2018, 5, 16), 2, True),
]
# a one-page PDF: the demo's uploaded materials
DEMO_PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _uscc(n: int) -> str:
    body = f"92140525MA0DEMD{n:02d}"[:17]
    return body + uscc.calc_check_digit(body)


def _id_number(n: int) -> str:
    body = f"14052519{80 + n % 15:02d}0{(n % 9) + 1}1{n % 10}{n:03d}"[:17] + "0"
    return body[:17] + ric.calc_check_digit(body)


def _entity(
    n: int, name: str, revenue: int, established: dt.date, insured: int, tax: bool, organisation=None
) -> MarketEntity:
    entity, _ = MarketEntity.objects.get_or_create(
        uscc=_uscc(n),
        defaults=dict(
            name=name,
            entity_type="family_farm"
            if "农场" in name
            else "farmer_cooperative"
            if "合作社" in name
            else "individual_business",
            register_status="active",
            established_on=established,
            region_id="140525",
            industry_id="5211" if "超市" in name else "6210",
            annual_revenue=revenue,
            employees=insured + 2,
            social_insurance_headcount=insured,
            has_tax_record=tax,
            tax_status="small_scale_taxpayer" if tax else "none",
            operator_name=name[-4:-2] + "经营者",
            operator_birth_date=dt.date(1985, 3, 1),
            operator_nationality="CN",
            operator_local_residence=True,
            organisation=organisation,
            data_shared_with_banks=True,
        ),
    )
    return entity


@transaction.atomic
def load() -> dict:
    User = get_user_model()
    names = [
        "staff",
        "staff2",
        "reviewer",
        "lead",
        "convener",
        "bankadmin",
        "manager",
        "enterprise",
        "city",
        "province",
    ]
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    if len(users) < len(names) or Declaration.objects.filter(entity__uscc__startswith="92140525MA0DEMD").exists():
        return {"skipped": True}
    enterprise_org = Organisation.objects.get(code="demo-enterprise")
    own = MarketEntity.objects.filter(organisation=enterprise_org).first() or _entity(
        0, "泽州县金辉小吃店", 900_000, dt.date(2020, 5, 1), 2, True, organisation=enterprise_org
    )
    entities = [_entity(i, *row) for i, row in enumerate(DEMO_ENTITIES, start=1)]
    staff, reviewer, lead, convener = users["staff"], users["reviewer"], users["lead"], users["convener"]
    # 周干事 files on the entities' behalf; 郑干事 does the 初审 (filer ≠ first reviewer)
    first_reviewer = users["staff2"]
    bankadmin, manager = users["bankadmin"], users["manager"]

    def declare(entity, banks, amount, by=staff):
        return s.declaration_create(
            actor=by,
            entity_id=entity.pk,
            amount=amount,
            term_months=12,
            purpose="生产经营周转",
            bank_codes=banks,
            basic_criteria=CRITERIA,
            consent=True,
            submit=True,
        )

    def review_to(declaration, stage):
        for actor in (first_reviewer, reviewer, lead)[:stage]:
            s.declaration_review(actor=actor, declaration_id=declaration.pk, decision="approve", comment="符合条件")

    # the demo enterprise's own declaration: recommended to 中国银行 and 建设银行
    mine = declare(own, ["boc", "ccb"], 300_000, by=users["enterprise"])
    review_to(mine, 3)
    # entities for every later state
    pushed = [
        declare(e, ["boc"], amount)
        for e, amount in zip(
            entities[:7] + entities[16:18],
            (200_000, 500_000, 150_000, 300_000, 800_000, 400_000, 600_000, 250_000, 700_000),
        )
    ]
    for d in pushed:
        review_to(d, 3)
    batch = s.batch_signoff(
        actor=convener, declaration_ids=[mine.pk] + [d.pk for d in pushed], title="泽州县第一批推荐清单"
    )
    s.batch_push(actor=convener, batch_id=batch.pk)

    recs = {d.entity.name: d.recommendations.get(bank__code="boc") for d in [mine] + pushed}
    boc = list(recs.values())
    s.recommendations_assign(actor=bankadmin, recommendation_ids=[r.pk for r in boc], manager_id=manager.pk)
    today = timezone.localdate()
    # mine at 中国银行: approved and partly drawn
    r = recs[own.name]
    s.recommendation_contact(actor=manager, recommendation_id=r.pk, channel="visit", note="上门走访, 了解经营情况")
    # the bank lists the product's materials, the enterprise uploads and submits, the bank confirms
    items = s.suggested_materials(r)
    s.recommendation_materials_list(actor=manager, recommendation_id=r.pk, items=items, note="原件到店核验")
    material_upload(
        actor=users["enterprise"],
        declaration_id=mine.pk,
        uploaded_file=SimpleUploadedFile("营业执照.pdf", DEMO_PDF),
        item=items[1] if len(items) > 1 else items[0],
    )
    s.recommendation_materials_submit(actor=users["enterprise"], recommendation_id=r.pk, note="已上传, 原件可到店核验")
    s.recommendation_materials_complete(actor=manager, recommendation_id=r.pk)
    s.recommendation_approve(
        actor=manager,
        recommendation_id=r.pk,
        credit_amount=300_000,
        rate_percent=Decimal("3.65"),
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=True,
    )
    s.recommendation_disburse(actor=manager, recommendation_id=r.pk, amount=200_000, disbursed_on=today)
    # contacted / under review / approved / declined / not drawn / removed
    e = [d.entity.name for d in pushed]
    s.recommendation_contact(actor=manager, recommendation_id=recs[e[1]].pk, channel="phone", note="已电话联系")
    # materials listed and submitted by the task force on the entity's behalf: the bank's 5 working days run
    s.recommendation_materials_list(
        actor=manager, recommendation_id=recs[e[1]].pk, items=s.suggested_materials(recs[e[1]])
    )
    s.recommendation_materials_submit(
        actor=staff, recommendation_id=recs[e[1]].pk, note="专班代企业提交, 纸质材料已交客户经理"
    )
    s.recommendation_contact(actor=manager, recommendation_id=recs[e[2]].pk, channel="branch")
    # materials the bank collected itself at the branch, then confirmed complete
    s.recommendation_materials_list(
        actor=manager, recommendation_id=recs[e[2]].pk, items=s.suggested_materials(recs[e[2]])
    )
    lead_material_upload(
        actor=manager,
        recommendation_id=recs[e[2]].pk,
        uploaded_file=SimpleUploadedFile("到店面谈记录.pdf", DEMO_PDF),
        item=s.suggested_materials(recs[e[2]])[0],
    )
    s.recommendation_materials_complete(actor=manager, recommendation_id=recs[e[2]].pk)
    # one whose submitted materials the bank left unconfirmed (its clock runs out below: 自动起算),
    # one the bank sent back for more (待企业补充)
    for name in (e[7], e[8]):
        s.recommendation_contact(actor=manager, recommendation_id=recs[name].pk, channel="visit")
        s.recommendation_materials_list(
            actor=manager, recommendation_id=recs[name].pk, items=s.suggested_materials(recs[name])
        )
        s.recommendation_materials_submit(actor=staff, recommendation_id=recs[name].pk, note="专班代企业提交")
    s.recommendation_materials_supplement(
        actor=manager,
        recommendation_id=recs[e[8]].pk,
        missing=[s.suggested_materials(recs[e[8]])[-1], "近两年纳税证明"],
        note="经营流水不全, 请补充近 6 个月完整流水及纳税证明",
    )
    for name, amount in ((e[3], 300_000), (e[6], 500_000)):
        s.recommendation_contact(actor=manager, recommendation_id=recs[name].pk)
        s.recommendation_materials_complete(actor=manager, recommendation_id=recs[name].pk)
    # the regulator's 三型 mark (issue 15): 晋城市 marks 兴隆五金店 成长型 before 中国银行 lends on it;
    # the others of the demo county keep only the portal's estimate (待标记三型)
    entity_services.tier_mark_set(
        actor=users["city"], entity=recs[e[3]].entity_id, tier="growth", note="2024 年度全省名录库分型结果"
    )
    # within the product's limits the manager approves; a longer term needs the administrator's override
    s.recommendation_approve(
        actor=manager,
        recommendation_id=recs[e[3]].pk,
        credit_amount=300_000,
        rate_percent=Decimal("3.85"),
        term_months=12,
        guarantee="surety",
        is_credit_loan=False,
        is_first_loan=False,
    )
    # a correction (issue 16 item 6): the rate was typed wrongly; the administrator corrects it
    # with a reason, and the lead's timeline and the audit log keep both
    s.recommendation_decision_correct(
        actor=bankadmin,
        recommendation_id=recs[e[3]].pk,
        credit_amount=300_000,
        rate_percent=Decimal("3.8"),
        term_months=12,
        guarantee="surety",
        is_credit_loan=False,
        is_first_loan=False,
        reason="审批书执行利率为 3.80%, 客户经理误录为 3.85%",
    )
    s.recommendation_approve(
        actor=bankadmin,
        recommendation_id=recs[e[6]].pk,
        credit_amount=500_000,
        rate_percent=Decimal("3.85"),
        term_months=24,
        guarantee="surety",
        is_credit_loan=False,
        is_first_loan=False,
        override_reason="企业经营回款周期较长, 按信发改财金〔2024〕329号延长流动资金贷款期限至 2 年",
    )
    s.recommendation_not_drawn(actor=manager, recommendation_id=recs[e[6]].pk, note="企业资金已到位, 暂不提款")
    s.recommendation_decline(
        actor=manager, recommendation_id=recs[e[4]].pk, reason_code="operating_too_short", note="主营业务变更未满 2 年"
    )
    s.recommendation_remove(actor=convener, recommendation_id=recs[e[5]].pk, reason="核实发现提供虚假经营流水")
    s.satisfaction_rate(actor=users["enterprise"], recommendation_id=r.pk, score=5, comment="办理很快")
    # post-loan watch (001 附件 九(四) 授信压退): after the approval the city lowers the mark, and
    # the branch is told on the lead, in its notifications and in the ledger (授信依据变化)
    entity_services.tier_mark_set(
        actor=users["city"],
        entity=recs[e[3]].entity_id,
        tier="survival",
        note="年度复核: 参保人数降为 0 人, 调整为生存型",
    )
    watch.watch_entities([recs[e[3]].entity_id])
    # a county task force proposes a 名特优新 title; the province decides (名特优新申请)
    entity_services.honor_propose(
        actor=staff,
        entity=entities[0].pk,
        action="grant",
        kind="distinctive",
        valid_until=dt.date(today.year + 2, 12, 31),
        reason="泽州特色面食老字号, 经营满 5 年, 群众口碑好",
    )

    # declarations waiting at each review stage, one rejected, one withdrawn-by-staff draft
    waiting = [declare(en, ["boc", "shanxibank"], 200_000) for en in entities[7:11]]
    for d, stage in zip(waiting, (0, 1, 2, 3)):
        review_to(d, stage)
    rejected = declare(entities[11], ["jshb"], 100_000)
    s.declaration_review(
        actor=first_reviewer, declaration_id=rejected.pk, decision="reject", comment="成立未满 1 年, 不符合申报条件"
    )
    s.declaration_create(
        actor=staff,
        entity_id=entities[12].pk,
        amount=100_000,
        term_months=12,
        purpose="进货",
        bank_codes=["boc"],
        basic_criteria={},
        consent=False,
    )
    s.visit_record(
        actor=staff,
        entity_id=entities[12].pk,
        visited_on=today,
        people="周干事",
        findings="有融资需求, 待补充材料",
        need_found=True,
    )

    # a new need of an entity already granted credit at 中国银行 (every bank decided: a new case
    # may open); its reviewers see the 多头授信 warning
    declare(entities[3], ["ccb"], 200_000)
    # seed 004 五项基本标准: one short of a criterion waits at the 初审 with its exception reason
    # (the lead has not confirmed it: no bulk approval); another the lead confirmed before his review
    s.declaration_create(
        actor=staff,
        entity_id=entities[13].pk,
        amount=150_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria={**CRITERIA, "fixed_premises": {"met": False, "evidence": "临时摊位"}},
        criteria_exception="经营场所为老街临时摊位, 镇政府已规划其入驻大阳古镇商业街, 租赁合同正在签订",
        consent=True,
        submit=True,
    )
    confirmed = s.declaration_create(
        actor=staff,
        entity_id=entities[14].pk,
        amount=600_000,
        term_months=24,
        purpose="扩建圈舍",
        bank_codes=["boc", "ccb"],
        basic_criteria={**CRITERIA, "good_credit": {"met": False, "evidence": "2023 年有一笔逾期 45 天"}},
        criteria_exception="逾期系疫情期间回款延迟, 已于 2023 年 8 月结清, 此后 24 个月无逾期, 征信已恢复正常",
        consent=True,
        submit=True,
    )
    review_to(confirmed, 2)
    s.declaration_criteria_exception_confirm(
        actor=lead, declaration_id=confirmed.pk, comment="已核实结清凭证, 同意按例外继续审核"
    )
    # 还款方式: a 24-month need repaid 按月结息、到期一次性还本 waits at the 初审; its page and the
    # queue judge 晋享贷 不符合 on the mode (within a year, or 等额本息/等额本金, it would pass that rule)
    s.declaration_create(
        actor=staff,
        entity_id=entities[18].pk,
        amount=200_000,
        term_months=24,
        repayment="bullet",
        purpose="购置酿造设备",
        bank_codes=["sxrcc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    # a bank's recommendation: a draft until the enterprise consents and submits
    s.declaration_recommend_by_bank(
        actor=manager,
        entity_id=entities[15].pk,
        amount=300_000,
        term_months=12,
        purpose="店面升级改造",
        repayment="equal_installment",
        note="本行代发工资客户, 经营流水稳定",
    )

    # a lead left unanswered since long ago: its feedback clock is overdue
    stale = [recs[e[0]]]
    for rec in stale:
        old = timezone.now() - dt.timedelta(days=12)
        DeadlineClock.objects.filter(recommendation=rec, kind=ClockKind.FEEDBACK).update(
            started_at=old,
            due_at=old + dt.timedelta(days=7),
            remind_at=old + dt.timedelta(days=6),
            escalate_at=old + dt.timedelta(days=14),
        )
    # the materials submitted nine days ago and never answered: the scan starts the decision clock
    lapsed = recs[e[7]]
    submitted = timezone.now() - dt.timedelta(days=9)
    Recommendation.objects.filter(pk=lapsed.pk).update(materials_submitted_at=submitted)
    DeadlineClock.objects.filter(recommendation=lapsed, kind=ClockKind.MATERIALS, state=ClockState.RUNNING).update(
        started_at=submitted,
        due_at=submitted + dt.timedelta(days=7),
        remind_at=submitted + dt.timedelta(days=6),
        escalate_at=submitted + dt.timedelta(days=14),
    )
    _direct_applications(bankadmin)
    deadline_scan()
    return {"declarations": Declaration.objects.filter(entity__region_id="140525").count()}


# 直接申请 (seed 002 point 5: "小微“无贷户”授信申请原则上5个工作日内回复"): four enterprises applying
# to 中国银行's first product from the 产品超市, one in each state of the reply clock
DIRECT_DEMO = [
    ("泽州县晨曦面馆", "within"),  # applied today: within the 5 working days
    ("泽州县丰源粮油店", "reminded"),  # due tomorrow: the scan reminds the branch
    ("泽州县旺达五金店", "late"),  # due long ago: overdue, the county task force told
    ("泽州县康宁药店", "answered"),  # contacted by the bank: answered
]
FOUR_LISTS_DEMO = {
    "approval_authority": "单户 100 万元(含)以下由县支行审批, 以上报市分行审批",
    "admission_conditions": "持续经营满 1 年; 经营者年龄 18–65 周岁; 无不良信用记录",
    "application_materials": "营业执照、经营者身份证、近 6 个月经营流水、经营场所证明",
    "process": "线上或到店申请 → 客户经理调查 → 审批 → 签约 → 放款",
    "reply_promise": "小微“无贷户”授信申请 5 个工作日内回复",
}


def _direct_applications(bankadmin) -> None:
    product = LoanProduct.objects.filter(bank__code="boc", status="active").order_by("code").first()
    if product is None:
        return
    # 中国银行 publishes its 四张清单 for this product; its other products stay flagged on 我行产品
    product_four_lists_update(actor=None, product=product, lists=FOUR_LISTS_DEMO)
    User = get_user_model()
    for n, (name, state) in enumerate(DIRECT_DEMO, start=90):
        org = Organisation.objects.create(
            name=name, kind=OrganisationKind.ENTERPRISE, region_id="140525", code=f"demo-direct-{n}"
        )
        user = User.objects.create_user(username=f"direct{n}", first_name=name, password=None)
        Membership.objects.create(user=user, organisation=org, role=Role.ENTERPRISE_USER)
        entity = _entity(n, name, 600_000, dt.date(2021, 4, 1), 1, True, organisation=org)
        lead = s.direct_application_create(
            actor=user,
            entity_id=entity.pk,
            product_id=product.pk,
            amount=200_000,
            term_months=12,
            purpose="进货周转",
            consent=True,
        )
        now = timezone.now()
        clocks = DeadlineClock.objects.filter(recommendation=lead, kind=ClockKind.FEEDBACK)
        if state == "reminded":
            old = now - dt.timedelta(days=5)
            clocks.update(
                started_at=old,
                due_at=now + dt.timedelta(days=1),
                remind_at=now - dt.timedelta(hours=1),
                escalate_at=now + dt.timedelta(days=8),
            )
        elif state == "late":
            old = now - dt.timedelta(days=12)
            clocks.update(
                started_at=old,
                due_at=old + dt.timedelta(days=7),
                remind_at=old + dt.timedelta(days=6),
                escalate_at=old + dt.timedelta(days=14),
            )
        elif state == "answered":
            s.recommendation_contact(actor=bankadmin, recommendation_id=lead.pk)
