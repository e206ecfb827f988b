"""The result-code table matches DATA-FORMATS.md ("Result codes")."""

from __future__ import annotations

import numpy as np
import pytest

from inspect_engine.publication import result_codes
from inspect_engine.publication.result_codes import ResultCode

# Copied from the contract document, column by column.
CONTRACT = {
    "no_problem": ("未发现问题", "no"),
    "not_disclosed": ("未按规定公示应当公示的信息", "yes"),
    "false_disclosure": ("公示信息隐瞒真实情况、弄虚作假", "yes"),
    "unreachable": ("通过登记的住所（经营场所）无法联系", "yes"),
    "corrected": ("发现问题经责令已改正", "yes"),
    "pending": ("发现问题待后续处理", "yes"),
    "non_cooperation": ("不配合检查情节严重", "yes"),
    "no_activity": ("未发现开展本次抽查涉及的经营活动", "not an observation"),
    "closed": ("已关闭停业或正在组织清算", "not an observation"),
    "deregistered": ("注销 / 被吊销 / 被撤销 / 迁出", "not an observation"),
}


def test_the_table_matches_the_contract() -> None:
    assert [c.code for c in ResultCode] == list(CONTRACT)
    for code in ResultCode:
        label, problem = CONTRACT[code.code]
        assert code.label == label
        assert code.counts_as_problem == (problem == "yes")
        assert code.is_observation == (problem != "not an observation")


def test_encoding_round_trips_and_drives_the_lookup_tables() -> None:
    codes = ["pending", "no_problem", "closed", "pending"]
    encoded = result_codes.encode(codes)
    assert [result_codes.CODES[i] for i in encoded] == codes
    assert result_codes.counts_as_problem(encoded).tolist() == [True, False, False, True]
    assert result_codes.is_observation(encoded).tolist() == [True, True, False, True]
    assert result_codes.encode([]).dtype == np.int8


def test_an_unknown_code_is_named() -> None:
    with pytest.raises(ValueError, match="'fined'"):
        result_codes.encode(["no_problem", "fined"])
