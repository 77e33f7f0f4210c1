"""Tests of the shipped reference data and its loader (no Django needed)."""

from collections import Counter

import pytest

from ... import reference as ref

# ---------------------------------------------------------------- regions


def _regions_by_code():
    return {r["code"]: r for r in ref.load_regions()}


def test_every_region_row_is_well_formed():
    # Given the shipped regions
    rows = ref.load_regions()
    codes = [r["code"] for r in rows]
    # Then codes are unique 6-digit strings, in order, and each row has the four keys
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)
    for r in rows:
        assert set(r) == {"code", "name", "level", "parent"}
        assert len(r["code"]) == 6 and r["code"].isdigit()
        assert r["name"] and r["name"] == r["name"].strip()
        assert r["level"] in ("province", "city", "county")


def test_region_hierarchy_is_consistent():
    # Given every region
    by_code = _regions_by_code()
    for r in by_code.values():
        # Then a province has no parent, a city's parent is its province, a county's its city,
        # and the parent is the code's own prefix (GB/T 2260 structure)
        if r["level"] == "province":
            assert r["parent"] is None and r["code"].endswith("0000")
        elif r["level"] == "city":
            assert r["code"].endswith("00") and r["parent"] == r["code"][:2] + "0000"
            assert by_code[r["parent"]]["level"] == "province"
        else:
            assert not r["code"].endswith("00") and r["parent"] == r["code"][:4] + "00"
            assert by_code[r["parent"]]["level"] == "city"


def test_shanxi_has_11_cities_and_117_county_level_units():
    # Given Shanxi (14xxxx)
    rows = [r for r in ref.load_regions() if r["code"].startswith("14")]
    levels = Counter(r["level"] for r in rows)
    counties = [r for r in rows if r["level"] == "county"]
    # Then: 1 province, 11 prefecture-level cities, 117 county-level units
    # made of 26 districts, 11 county-level cities and 80 counties (2023 official totals)
    assert levels == {"province": 1, "city": 11, "county": 117}
    kinds = Counter(r["name"][-1] for r in counties)
    assert kinds == {"区": 26, "市": 11, "县": 80}


@pytest.mark.parametrize(
    "city, expected",
    [
        ("140100", 10),  # 太原: 6 districts, 3 counties, 古交市
        ("140200", 10),  # 大同: 4 districts, 6 counties
        ("140300", 5),  # 阳泉
        ("140400", 12),  # 长治: 4 districts since 2018, 8 counties
        ("140500", 6),  # 晋城
        ("140600", 6),  # 朔州: 怀仁市 since 2018
        ("140700", 11),  # 晋中: 太谷区 since 2019
        ("140800", 13),  # 运城
        ("140900", 14),  # 忻州
        ("141000", 17),  # 临汾
        ("141100", 13),  # 吕梁
        ("411500", 10),  # 信阳: 2 districts, 8 counties
    ],
)
def test_each_city_has_all_its_county_level_units(city, expected):
    # Given a city, when its children are counted, then none is missing
    children = [r for r in ref.load_regions() if r["parent"] == city]
    assert len(children) == expected


@pytest.mark.parametrize(
    "code, name, city",
    [
        ("140105", "小店区", "140100"),
        ("140181", "古交市", "140100"),
        ("140212", "新荣区", "140200"),
        ("140214", "云冈区", "140200"),
        ("140215", "云州区", "140200"),
        ("140403", "潞州区", "140400"),
        ("140502", "城区", "140500"),
        ("140525", "泽州县", "140500"),
        ("140681", "怀仁市", "140600"),
        ("140703", "太谷区", "140700"),
        ("140802", "盐湖区", "140800"),
        ("141024", "洪洞县", "141000"),
        ("141182", "汾阳市", "141100"),
        ("411502", "浉河区", "411500"),
        ("411528", "息县", "411500"),
    ],
)
def test_known_county_codes(code, name, city):
    # When a known county code is looked up
    row = ref.region_by_code(code)
    # Then it has the official name and sits under the right city
    assert row == {"code": code, "name": name, "level": "county", "parent": city}
    assert ref.city_of(code)["code"] == city
    assert code in ref.county_codes()


def test_retired_and_foreign_codes_are_unknown():
    # Given codes abolished by the 2018-2019 reforms (大同 城区/矿区/南郊区, 长治 城区/郊区/长治县,
    # 朔州 怀仁县, 晋中 太谷县), codes outside the shipped area, and malformed codes
    for code in (
        "140202",
        "140203",
        "140211",
        "140402",
        "140411",
        "140421",
        "140624",
        "140726",
        "110101",
        "411501",
        "410100",
        "999999",
        "14010",
        "1401050",
        "",
        None,
    ):
        # Then none is known
        assert ref.region_by_code(code) is None
        assert code not in ref.county_codes()
    # And their successors are
    assert [ref.region_by_code(c)["name"] for c in ("140213", "140214", "140215", "140403", "140681", "140703")] == [
        "平城区",
        "云冈区",
        "云州区",
        "潞州区",
        "怀仁市",
        "太谷区",
    ]


def test_provinces_and_cities():
    # Given the parents shipped for the two areas
    assert ref.region_by_code("140000") == {"code": "140000", "name": "山西省", "level": "province", "parent": None}
    assert ref.region_by_code("410000")["name"] == "河南省"
    assert ref.region_by_code("411500") == {"code": "411500", "name": "信阳市", "level": "city", "parent": "410000"}
    # Then only Xinyang is shipped for Henan
    henan = [r["code"] for r in ref.load_regions() if r["code"].startswith("41")]
    assert henan[:2] == ["410000", "411500"] and all(c.startswith("4115") for c in henan[1:])
    # And the totals are 2 provinces, 12 cities, 127 counties
    assert Counter(r["level"] for r in ref.load_regions()) == {"province": 2, "city": 12, "county": 127}
    assert len(ref.county_codes()) == 127


def test_city_of_and_province_of():
    # County -> its city and province; city -> itself and its province; province -> no city
    assert ref.city_of("141024")["name"] == "临汾市"
    assert ref.province_of("141024")["code"] == "140000"
    assert ref.city_of("140500")["code"] == "140500"
    assert ref.province_of("411500")["name"] == "河南省"
    assert ref.city_of("140000") is None
    assert ref.province_of("140000")["code"] == "140000"
    # Unknown codes give None
    assert ref.city_of("140299") is None and ref.province_of("abc") is None


def test_twelve_digit_statistical_codes_are_accepted():
    assert ref.region_by_code("140105000000")["name"] == "小店区"
    assert ref.city_of(" 140525000000 ")["code"] == "140500"
    # a township-level 12-digit code is not a county
    assert ref.region_by_code("140105001000") is None


def test_loaders_return_copies():
    # When a caller edits what it got
    ref.load_regions()[0]["name"] = "changed"
    ref.region_by_code("140105")["name"] = "changed"
    ref.county_codes().clear()
    ref.load_industries()[0]["name"] = "changed"
    # Then the cached data is unchanged
    assert ref.load_regions()[0]["name"] == "山西省"
    assert ref.region_by_code("140105")["name"] == "小店区"
    assert len(ref.county_codes()) == 127
    assert ref.load_industries()[0]["name"] == "农、林、牧、渔业"


# ---------------------------------------------------------------- industries

SECTIONS = {
    "A": (1, 5),
    "B": (6, 12),
    "C": (13, 43),
    "D": (44, 46),
    "E": (47, 50),
    "F": (51, 52),
    "G": (53, 60),
    "H": (61, 62),
    "I": (63, 65),
    "J": (66, 69),
    "K": (70, 70),
    "L": (71, 72),
    "M": (73, 75),
    "N": (76, 79),
    "O": (80, 82),
    "P": (83, 83),
    "Q": (84, 85),
    "R": (86, 90),
    "S": (91, 96),
    "T": (97, 97),
}


def test_industry_rows_are_well_formed_and_linked():
    rows = ref.load_industries()
    by_code = {r["code"]: r for r in rows}
    assert len(by_code) == len(rows)
    width = {"section": 1, "division": 2, "group": 3, "class": 4}
    parent_level = {"division": "section", "group": "division", "class": "group"}
    for r in rows:
        assert set(r) == {"code", "name", "level", "parent"}
        assert len(r["code"]) == width[r["level"]]
        assert r["name"] and r["name"] == r["name"].strip() and "(" not in r["name"]
        if r["level"] == "section":
            assert r["parent"] is None and "A" <= r["code"] <= "T"
        else:
            parent = by_code[r["parent"]]
            assert parent["level"] == parent_level[r["level"]]
            if r["level"] != "division":
                assert r["code"].startswith(r["parent"])


def test_industry_counts():
    # GB/T 4754-2017 (with amendment No. 1): 20 sections, 97 divisions, 473 groups.
    # Classes: 1381 shipped (see README: the official total after the amendment is quoted as 1382).
    levels = Counter(r["level"] for r in ref.load_industries())
    assert levels["section"] == 20
    assert levels["division"] == 97
    assert levels["group"] == 473
    assert levels["class"] == 1381


def test_divisions_01_to_97_map_to_their_sections():
    rows = ref.load_industries()
    divisions = [r for r in rows if r["level"] == "division"]
    assert sorted(r["code"] for r in divisions) == [f"{n:02d}" for n in range(1, 98)]
    for r in divisions:
        low, high = SECTIONS[r["parent"]]
        assert low <= int(r["code"]) <= high
        assert ref.industry_section(r["code"]) == r["parent"]


def test_every_group_has_classes_and_every_division_has_groups():
    rows = ref.load_industries()
    parents = Counter(r["parent"] for r in rows)
    for r in rows:
        if r["level"] in ("section", "division", "group"):
            assert parents[r["code"]] > 0, r


@pytest.mark.parametrize(
    "code, name, section",
    [
        ("A", "农、林、牧、渔业", "A"),
        ("01", "农业", "A"),
        ("0111", "稻谷种植", "A"),
        ("0232", "森林改培", "A"),
        ("0182", "天然草原割草", "A"),
        ("06", "煤炭开采和洗选业", "B"),
        ("0610", "烟煤和无烟煤开采洗选", "B"),
        ("061", "烟煤和无烟煤开采洗选", "B"),
        ("15", "酒、饮料和精制茶制造业", "C"),
        ("2521", "炼焦", "C"),
        ("3612", "新能源车整车制造", "C"),
        ("4411", "火力发电", "D"),
        ("4620", "污水处理及其再生利用", "D"),
        ("5292", "互联网零售", "F"),
        ("6513", "应用软件开发", "I"),
        ("7215", "农村集体经济组织管理", "L"),
        ("75", "科技推广和应用服务业", "M"),
        ("87", "广播、电视、电影和录音制作业", "R"),
        ("905", "文化体育娱乐活动与经纪代理服务", "R"),
        ("9542", "宗教活动场所服务", "S"),
        ("9700", "国际组织", "T"),
    ],
)
def test_known_industry_codes(code, name, section):
    row = ref.industry_by_code(code)
    assert row["name"] == name
    assert ref.is_known_industry(code)
    assert ref.industry_section(code) == section


def test_industry_code_forms():
    # Section-prefixed, lower-case and padded forms are read as the bare code
    assert ref.industry_section("C3011") == "C"
    assert ref.is_known_industry(" c3011 ")
    assert ref.industry_section("a") == "A"
    # ... but a prefix naming the wrong section is rejected
    assert not ref.is_known_industry("B3011")
    assert ref.industry_section("B3011") is None


@pytest.mark.parametrize(
    "code",
    ["U", "Z", "00", "98", "99", "018X", "0118", "0170", "0230", "3013", "6599X", "01111", "", " ", None],
)
def test_unknown_industry_codes(code):
    # An unlisted code is unknown even when its division exists (all four levels are shipped)
    assert not ref.is_known_industry(code)
    assert ref.industry_section(code) is None
    assert ref.industry_by_code(code) is None


def test_unlisted_class_under_known_division_is_unknown():
    # Given a known division and group
    assert ref.is_known_industry("30") and ref.is_known_industry("301")
    # Then a class that the standard does not list under them is still unknown
    assert not ref.is_known_industry("3013")
    assert not ref.is_known_industry("308X")
