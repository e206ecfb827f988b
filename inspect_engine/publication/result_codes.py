"""Inspection result codes (检查结果), as listed in DATA-FORMATS.md.

One table answers the two questions every consumer asks of a result: is it a problem found
(it counts toward published problem rates and is a positive label for the risk model), and
is it an observation at all (an enterprise that was closed or not doing the inspected
activity tells nothing about its compliance and gives no label).

Pure: standard library and numpy only. The order of `ResultCode` members is the integer
encoding used in kernel arrays; append new codes at the end, never reorder.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

import numpy as np
from numpy.typing import NDArray


class ResultCode(Enum):
    """A result code with its Chinese label and how it counts."""

    NO_PROBLEM = ("no_problem", "未发现问题", False, True)
    NOT_DISCLOSED = ("not_disclosed", "未按规定公示应当公示的信息", True, True)
    FALSE_DISCLOSURE = ("false_disclosure", "公示信息隐瞒真实情况、弄虚作假", True, True)
    UNREACHABLE = ("unreachable", "通过登记的住所（经营场所）无法联系", True, True)
    CORRECTED = ("corrected", "发现问题经责令已改正", True, True)
    PENDING = ("pending", "发现问题待后续处理", True, True)
    NON_COOPERATION = ("non_cooperation", "不配合检查情节严重", True, True)
    NO_ACTIVITY = ("no_activity", "未发现开展本次抽查涉及的经营活动", False, False)
    CLOSED = ("closed", "已关闭停业或正在组织清算", False, False)
    DEREGISTERED = ("deregistered", "注销 / 被吊销 / 被撤销 / 迁出", False, False)

    def __init__(self, code: str, label: str, counts_as_problem: bool, is_observation: bool):
        self.code = code
        self.label = label
        self.counts_as_problem = counts_as_problem
        self.is_observation = is_observation

    @property
    def index(self) -> int:
        """Integer encoding used in arrays (position in the table)."""
        return _INDEX[self]

    @classmethod
    def parse(cls, code: str) -> ResultCode:
        """The member for a code string such as 'not_disclosed'; ValueError if unknown."""
        try:
            return _BY_CODE[code]
        except KeyError:
            allowed = ", ".join(_BY_CODE)
            raise ValueError(f"{code!r} is not a result code (one of {allowed})") from None


RESULT_CODES: tuple[ResultCode, ...] = tuple(ResultCode)
_INDEX = {member: i for i, member in enumerate(RESULT_CODES)}
_BY_CODE = {member.code: member for member in RESULT_CODES}

# Lookup tables indexed by the integer encoding, for vectorised use.
IS_PROBLEM: NDArray[np.bool_] = np.array([m.counts_as_problem for m in RESULT_CODES])
IS_OBSERVATION: NDArray[np.bool_] = np.array([m.is_observation for m in RESULT_CODES])
CODES: tuple[str, ...] = tuple(m.code for m in RESULT_CODES)
LABELS: tuple[str, ...] = tuple(m.label for m in RESULT_CODES)


def encode(codes: Iterable[str]) -> NDArray[np.int8]:
    """Integer encoding of result code strings; ValueError names the first unknown one."""
    values = np.asarray(list(codes), dtype=object)
    if values.size == 0:
        return np.zeros(0, dtype=np.int8)
    unique, inverse = np.unique(values.astype(str), return_inverse=True)
    table = np.array([ResultCode.parse(str(code)).index for code in unique], dtype=np.int8)
    return table[inverse.reshape(-1)]


def counts_as_problem(encoded: NDArray[np.integer]) -> NDArray[np.bool_]:
    return IS_PROBLEM[np.asarray(encoded)]


def is_observation(encoded: NDArray[np.integer]) -> NDArray[np.bool_]:
    return IS_OBSERVATION[np.asarray(encoded)]
