from portal.models import Region
from products.models import Bank, BankBranch, BranchLevel
from products.services import branch_ensure, catalog_load


def load() -> dict:
    """The seed catalogue, plus the demo county's sub-branch of Bank of China (中国银行泽州支行)."""
    counts = catalog_load()
    boc = Bank.objects.get(code="boc")
    jincheng = BankBranch.objects.get(bank=boc, level=BranchLevel.CITY, region_id="140500")
    branch_ensure(
        bank=boc,
        parent=jincheng,
        region=Region.objects.get(code="140525"),
        name="中国银行泽州支行",
        level=BranchLevel.COUNTY,
        service_prefixes=["140525"],
    )
    return counts
