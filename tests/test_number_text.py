"""NumberText: numbers written for people ($1,234.50, 51.3%, 1.234,50 €) read exactly and
written back the same way."""

import decimal

import pytest

from vaetools.tabular.number_text import NumberText


@pytest.mark.parametrize("values,decimal_mark,expected", [
    (["$1,234.50", "-$5.00", "$960.92"], ".", NumberText("$", "", ",", ".", False)),
    (["$-5.00", "$12.00"], ".", NumberText("$", "", "", ".", True)),
    (["51.3%", "-2.0%", "100%"], ".", NumberText("", "%", "", ".", False)),
    (["€ 12,000", "€ 950"], ".", NumberText("€ ", "", ",", ".", False)),
    (["1.234,50 €", "-3,00 €", "12,00 €"], ",", NumberText("", " €", ".", ",", False)),
    (["1 234,5", "12,25"], ",", NumberText("", "", " ", ",", False)),
])
def test_a_column_s_way_of_writing_numbers_reads_exactly_and_writes_back_as_it_came(values, decimal_mark, expected):
    fmt = NumberText.learn(values, decimal_mark)
    assert fmt == expected
    for v in values:
        assert isinstance(fmt.read(v), decimal.Decimal)
        assert fmt.write(fmt.read(v)) == v  # digits, places, signs and grouping as they came
    assert NumberText.from_json(fmt.to_json()) == fmt


def test_values_read_as_the_numbers_they_write():
    fmt = NumberText.learn(["$1,234.50", "-$5.00"])
    assert fmt.read("$1,234.50") == decimal.Decimal("1234.50") and fmt.read("-$5.00") == decimal.Decimal("-5.00")
    assert NumberText.learn(["51.3%"]).read("51.3%") == decimal.Decimal("51.3")  # the number shown
    assert fmt.write(decimal.Decimal("-1234567.891")) == "-$1,234,567.891"


@pytest.mark.parametrize("values", [
    ["1234", "5.5"],  # plain numbers: pandas reads them itself
    ["$5", "5%"],  # two ways of writing in one column
    ["$5", "five dollars"],
    ["1,23"],  # not grouped thousands
    [],
])
def test_columns_that_are_not_one_way_of_writing_numbers_are_not_learned(values):
    assert NumberText.learn(values) is None


@pytest.mark.parametrize("text", ['{"prefix": "$", "suffix": "", "group": ",", "decimal_mark": "x", "sign_inside": false}',
                                  '{"prefix": 5}', "not json", '{"prefix": "$$$$$$$$"}', "[]"])
def test_a_stored_way_of_writing_vaetools_did_not_write_is_refused(text):
    assert NumberText.from_json(text) is None
