"""The importer's fast USCC check gives python-stdnum's verdict on every code."""

import random

import pytest
from stdnum.cn import uscc

from entities.register_file import Bad, _uscc_check_character, parse_uscc


def _random_codes(count: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    alphabet = uscc._alphabet
    return [
        "".join(rnd.choice("0123456789") for _ in range(8)) + "".join(rnd.choice(alphabet) for _ in range(10))
        for _ in range(count)
    ]


def test_the_check_character_is_stdnums_on_every_well_formed_code():
    # given many random codes in the compact form (a valid one in about 31)
    codes = _random_codes(20_000)

    # when their check characters are computed by the importer's fast path
    # then each is the one python-stdnum computes
    assert [_uscc_check_character(code) for code in codes] == [uscc.calc_check_digit(code) for code in codes]


def test_parse_uscc_accepts_exactly_what_stdnum_accepts():
    # given random codes, each also with its check character corrected, and written loosely
    codes = _random_codes(5_000, seed=11)
    codes += [code[:17] + uscc.calc_check_digit(code[:17]) for code in codes[:2_000]]
    loose = [f"{code[:6]} {code[6:12]}-{code[12:].lower()}" for code in codes[:500]]

    # when they are parsed
    # then a code is accepted (in its compact form) exactly when stdnum validates it
    for text in codes + loose:
        try:
            parsed = parse_uscc(text)
        except Bad:
            parsed = None
        assert parsed == (uscc.validate(text) if uscc.is_valid(text) else None), text


@pytest.mark.parametrize(
    "text, message",
    [
        ("91140525MA0K1234", "应为 18 位, 实为 16 位"),
        ("9114052OMA0K12345X", "含有不允许的字符(前 8 位为数字, 其余为数字或除 I、O、Z、S、V 外的大写字母)"),
    ],
)
def test_a_malformed_code_gets_stdnums_reason(text, message):
    # given a code of the wrong length or with a letter in the first eight places
    # when it is parsed
    with pytest.raises(Bad) as error:
        parse_uscc(text)

    # then the message names the reason
    assert str(error.value) == message
