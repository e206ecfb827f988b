"""Chinese names for the synthetic city: trade names (字号) and people's names.

A trade name is stored as an integer code (v < S² two characters, else three characters
of v - S², S the alphabet size) so that millions of them cost 8 bytes each until written.
Codes are drawn without repetition inside each naming group (entity type + business word,
per district for individual businesses), as the registry forbids duplicate names there.
"""

from __future__ import annotations

import math

import numpy as np

# Characters common in Guangzhou trade names; none of them is a CSV separator.
_TRADE_CHARS = (
    "华盛达鑫源恒泰兴隆丰和信诚德宝利康安顺祥瑞嘉创新科博远通明星辉金银海天宏伟鸿福富昌荣"
    "茂广穗粤南越珠云山林森禾田美佳优品汇聚合众联志汉唐宇宙龙凤麒麟凯乐欣悦怡雅丽彩虹晨"
    "阳光辰月朗夏中亚环球东方西城北斗港湾江河湖泽润泉溪川峰岭石玉晶翠锦绣骏驰腾飞翔鹏雁"
    "鹤燕雀松柏竹梅兰菊荷莲桂榕棉杉桃李杏橙柚荔椰蓝绿青紫白红黄赤丹尚致卓匠心智慧意启航"
    "领先前沿锋英才俊杰贤博学文武礼仁义忠勤俭厚道实守同协力万千百一三五六八九"
)
TRADE_ALPHABET = "".join(dict.fromkeys(_TRADE_CHARS))
_TRADE = np.array(list(TRADE_ALPHABET), dtype=object)

_SURNAMES = (
    "陈李黄张梁林刘吴罗何郑杨谢邓周冯曾叶苏卢麦蔡许王钟潘朱余赖彭胡"
    "区郭欧徐马邱温莫关方古汤江廖谭黎简柯庞"
)
SURNAME_ALPHABET = "".join(dict.fromkeys(_SURNAMES))
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉志红建文斌浩宇俊颖婷晓健"


def _affine(rng: np.random.Generator, n: int, space: int) -> np.ndarray:
    """n distinct numbers of [0, space), scattered by a random affine bijection."""
    if n > space:
        raise ValueError("more names than the space holds")
    while True:
        a = int(rng.integers(1, space))
        if math.gcd(a, space) == 1:
            break
    b = int(rng.integers(0, space))
    return (a * np.arange(n, dtype=np.int64) + b) % space


def trade_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct trade-name codes in random order, about 70% of two characters (fewer when
    a large group exhausts half of the two-character names)."""
    size = len(TRADE_ALPHABET)
    space2 = size * size
    n2 = min(round(0.7 * n), space2 // 2)
    two = _affine(rng, n2, space2)
    three = _affine(rng, n - n2, size**3) + space2
    return rng.permutation(np.concatenate([two, three]))


def trade_text(codes: np.ndarray) -> np.ndarray:
    """Object array of trade names for an array of codes."""
    size = len(TRADE_ALPHABET)
    space2 = size * size
    two = codes < space2
    v3 = np.where(two, 0, codes - space2)
    short = _TRADE[codes % space2 // size] + _TRADE[codes % size]
    long = _TRADE[v3 // space2] + _TRADE[v3 // size % size] + _TRADE[v3 % size]
    return np.asarray(np.where(two, short, long))


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """Chinese personal names (surname + one or two given characters); they may repeat."""
    surnames = np.array(list(SURNAME_ALPHABET), dtype=object)
    given = np.array(list(GIVEN_CHARS), dtype=object)
    # Cantonese surnames are concentrated: 陈, 李, 黄 ... come first and weigh most.
    weights = 1.0 / np.arange(1, len(surnames) + 1) ** 0.8
    first = surnames[rng.choice(len(surnames), size=n, p=weights / weights.sum())]
    g1 = given[rng.integers(0, len(given), n)]
    g2 = given[rng.integers(0, len(given), n)]
    out = np.where(rng.random(n) < 0.7, first + g1 + g2, first + g1)
    return [str(x) for x in out]
