"""The market entities of the synthetic city, as numpy arrays (one row per entity).

Text (names, addresses) is not built here: only the integer parts it is made of, so that a
city of 2.7 million entities stays small in memory; `simulations.writer` renders the text
chunk by chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from simulations import catalogue as cat
from simulations.codes import (
    REFORM_DAY,
    SCHEME_DIGITS,
    SCHEME_L,
    SCHEME_MA,
    credit_codes,
    organisation_bodies,
)
from simulations.names import trade_codes
from simulations.truth import TruthParams, sigmoid

EPOCH = date(1970, 1, 1)
NEVER = 2**30  # day number meaning "not (yet)"
DAYS_PER_YEAR = 365.25

# Address formats (the text is a function of the key's parts, see writer.address_text).
ADDR_ROOM, ADDR_CLUSTER, ADDR_SHOP, ADDR_STALL, ADDR_PLOT = range(5)


def day_number(d: date) -> int:
    return (d - EPOCH).days


@dataclass(frozen=True)
class Offices:
    """Supervision offices (监管所): code `<district>-NN`, a centre and a weight."""

    codes: tuple[str, ...]
    district: np.ndarray  # district index
    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray  # share of its district's entities


@dataclass(frozen=True)
class Population:
    n: int
    district: np.ndarray  # int: index into cat.DISTRICTS
    office: np.ndarray  # int: index into Offices
    etype: np.ndarray  # int: index into cat.ENTITY_TYPES
    industry: np.ndarray  # int: index into cat.INDUSTRIES
    licences: np.ndarray  # uint8 bit mask over cat.LICENCES
    tags: np.ndarray  # uint8 bit mask over cat.TAGS
    reg_day: np.ndarray  # registration day number
    exit_day: np.ndarray  # day of cancellation / revocation / moving out; NEVER if active
    status: np.ndarray  # index into cat.STATUSES
    capital: np.ndarray  # CNY, NaN when not applicable
    address_key: np.ndarray  # int64, equal keys = same registered address
    cluster: np.ndarray  # entities sharing the address (1 = alone)
    lat: np.ndarray
    lon: np.ndarray
    latent: np.ndarray  # standard normal z (hidden)
    shell: np.ndarray  # bool (hidden): not at the registered address
    dormant: np.ndarray  # bool (hidden): closed without deregistering
    static_logit: np.ndarray  # the time-invariant observable part of the problem log-odds
    codes: np.ndarray  # 'S18' credit codes
    word: np.ndarray  # index into Naming.words
    trade: np.ndarray  # trade-name code (see names)
    name_variant: np.ndarray  # small int choosing a name pattern


@dataclass(frozen=True)
class Naming:
    words: tuple[str, ...]


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer counts proportional to weights that sum to total (largest remainders)."""
    raw = total * weights / weights.sum()
    counts = np.floor(raw).astype(np.int64)
    short = total - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return np.asarray(counts)


def make_offices(rng: np.random.Generator, n_entities: int) -> Offices:
    """About one office per 15,000 entities at Guangzhou scale, never fewer than 3 a district."""
    scale = n_entities / cat.GZ_ENTITIES
    total = int(np.clip(round(cat.GZ_OFFICES * math.sqrt(scale)), 3 * len(cat.DISTRICTS), 400))
    weights = np.array([d.weight for d in cat.DISTRICTS])
    per = np.maximum(3, allocate(total, weights))
    codes: list[str] = []
    district: list[int] = []
    lat: list[float] = []
    lon: list[float] = []
    weight: list[float] = []
    for di, (d, k) in enumerate(zip(cat.DISTRICTS, per.tolist(), strict=True)):
        w = rng.dirichlet(np.full(k, 5.0))
        for j in range(k):
            codes.append(f"{d.code}-{j + 1:02d}")
            district.append(di)
            lat.append(d.lat + rng.normal(0, d.spread))
            lon.append(d.lon + rng.normal(0, d.spread))
            weight.append(float(w[j]))
    return Offices(
        codes=tuple(codes),
        district=np.array(district),
        lat=np.array(lat),
        lon=np.array(lon),
        weight=np.array(weight),
    )


def _industry_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    shares = np.array([ind.shares for ind in cat.INDUSTRIES], dtype=float).T  # (type, industry)
    shares = shares / shares.sum(axis=1, keepdims=True)
    beta = np.array([ind.beta for ind in cat.INDUSTRIES])
    shell = np.array([ind.shell for ind in cat.INDUSTRIES])
    exposure = np.array([ind.exposure for ind in cat.INDUSTRIES])
    return shares, beta, shell, exposure


def industry_exposure() -> np.ndarray:
    return _industry_tables()[3]


def _entity_types(rng: np.random.Generator, district: np.ndarray) -> np.ndarray:
    base = cat.GZ_ENTERPRISES / cat.GZ_ENTITIES
    w = np.array([d.weight for d in cat.DISTRICTS])
    mult = np.array([d.company_mult for d in cat.DISTRICTS])
    p_enterprise = base * mult / (w * mult).sum()
    coop_mult = {"440117": 6, "440118": 3, "440114": 2, "440115": 2, "440111": 1.5, "440113": 1.5}
    foreign_mult = {"440106": 3.0, "440104": 2.5, "440105": 1.0}
    etype = np.full(len(district), cat.INDIVIDUAL, dtype=np.int8)
    u = rng.random(len(district))
    v = rng.random(len(district))
    for di, d in enumerate(cat.DISTRICTS):
        sel = district == di
        mix = dict(cat.ENTERPRISE_MIX)
        mix[cat.COOPERATIVE] *= coop_mult.get(d.code, 0.2)
        mix[cat.FOREIGN_REP] *= foreign_mult.get(d.code, 0.3)
        kinds = np.array(list(mix))
        cdf = np.cumsum(np.array(list(mix.values())) / sum(mix.values()))
        pick = kinds[np.minimum(np.searchsorted(cdf, v[sel], side="right"), len(kinds) - 1)]
        etype[sel] = np.where(u[sel] < p_enterprise[di], pick, cat.INDIVIDUAL)
    return etype


def _choose(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category per entity, rows[i] naming the row of the (k, m) probability table."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(rows))
    out = np.zeros(len(rows), dtype=np.int64)
    for r in range(probs.shape[0]):
        sel = rows == r
        out[sel] = np.searchsorted(cdf[r], u[sel], side="right")
    return np.asarray(np.minimum(out, probs.shape[1] - 1))


def _registration_days(rng: np.random.Generator, etype: np.ndarray, as_of: int) -> np.ndarray:
    """Days drawn from a density ∝ exp(g·t): the stock grew at rate g (+201% enterprises,
    +40% individual businesses over 2015–2020), so most entities are young."""
    g_ent, g_ind = growth_rates()
    g = np.where(etype == cat.INDIVIDUAL, g_ind, g_ent)
    start = np.where(
        etype == cat.COOPERATIVE, day_number(date(2007, 7, 1)), day_number(date(1980, 1, 1))
    )
    span = (as_of - start) / DAYS_PER_YEAR
    u = rng.random(len(etype))
    back = -np.log1p(-u * (1.0 - np.exp(-g * span))) / g
    return (as_of - np.floor(back * DAYS_PER_YEAR)).astype(np.int32)


def growth_rates() -> tuple[float, float]:
    """(enterprises, individual businesses) yearly growth rates of the stock."""
    ent_2020 = cat.GZ_ENTERPRISES
    ind_2020 = cat.GZ_ENTITIES - ent_2020
    ind_2015 = cat.GZ_ENTITIES / cat.GZ_GROWTH_ALL_5Y - ent_2020 / cat.GZ_GROWTH_ENTERPRISES_5Y
    return math.log(cat.GZ_GROWTH_ENTERPRISES_5Y) / 5, math.log(ind_2020 / ind_2015) / 5


def _bits(
    rng: np.random.Generator, industry: np.ndarray, etype: np.ndarray, which: str
) -> np.ndarray:
    names = cat.LICENCES if which == "licences" else cat.TAGS
    out = np.zeros(len(industry), dtype=np.uint8)
    production = {"food_production", "industrial_product", "special_equipment"}
    for ii, ind in enumerate(cat.INDUSTRIES):
        table = ind.licences if which == "licences" else ind.tags
        if not table:
            continue
        sel = np.flatnonzero(industry == ii)
        for name, prob in table:
            p = np.full(len(sel), prob)
            t = etype[sel]
            if which == "licences" and name in production:
                p = np.where(t == cat.INDIVIDUAL, prob * 0.5, p)
            if name in ("elevator_user", "central_kitchen"):
                p = np.where((t == cat.COMPANY) | (t == cat.BRANCH), p, 0.0)
            p = np.where((t == cat.FOREIGN_REP) | (t == cat.COOPERATIVE), 0.0, p)
            hit = rng.random(len(sel)) < p
            out[sel[hit]] |= np.uint8(1 << names.index(name))
    return out


def _capital(rng: np.random.Generator, etype: np.ndarray) -> np.ndarray:
    """Registered capital: round amounts are popular under the subscription system."""
    n = len(etype)
    rounds = np.array([1e5, 3e5, 5e5, 1e6, 2e6, 3e6, 5e6, 1e7, 2e7, 5e7, 1e8])
    round_w = np.array([8, 6, 10, 16, 8, 7, 10, 12, 5, 3, 1], dtype=float)
    pick = rounds[rng.choice(len(rounds), size=n, p=round_w / round_w.sum())]
    free = np.round(np.exp(rng.normal(math.log(1e6), 1.4, n)), -4)
    value = np.where(rng.random(n) < 0.55, pick, np.maximum(free, 1e4))
    coop = np.round(np.exp(rng.normal(math.log(5e5), 1.0, n)), -3)
    value = np.where(etype == cat.COOPERATIVE, coop, value)
    has = (etype == cat.COMPANY) | (etype == cat.COOPERATIVE)
    return np.where(has, value, np.nan)


def _addresses(
    rng: np.random.Generator,
    offices: Offices,
    district: np.ndarray,
    office: np.ndarray,
    etype: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Address keys (district, format, road, number, room, building) and the office an
    address belongs to: shared addresses put every entity sharing them in one office."""
    n = len(district)
    fmt = np.full(n, ADDR_ROOM, dtype=np.int64)
    road = rng.integers(0, 12, n)
    number = rng.integers(1, 1000, n)
    room = rng.integers(1, 31, n) * 100 + rng.integers(1, 21, n)
    building = np.zeros(n, dtype=np.int64)
    office = office.copy()
    companies = (etype == cat.COMPANY) | (etype == cat.BRANCH)
    shops = etype == cat.INDIVIDUAL
    fmt[shops] = np.where(rng.random(int(shops.sum())) < 0.8, ADDR_SHOP, ADDR_STALL)
    room[shops] = rng.integers(1, 60, int(shops.sum()))
    fmt[etype == cat.COOPERATIVE] = ADDR_PLOT
    u = rng.random(n)
    for di, d in enumerate(cat.DISTRICTS):
        in_d = district == di
        # Cluster addresses (集群注册): sizes 2 + lognormal (median 17, long tail to the
        # hundreds), the same distribution at every scale.
        members = np.flatnonzero(in_d & companies & (u < d.cluster_share))
        if len(members):
            sizes = _cluster_sizes(rng, len(members))
            k = len(sizes)
            which = rng.permutation(np.repeat(np.arange(k), sizes))
            c_road = rng.integers(0, 12, k)
            c_number = rng.integers(1, 400, k)
            c_room = rng.integers(1, 31, k) * 100 + rng.integers(1, 21, k)
            c_building = rng.integers(1, 9, k)
            c_office = rng.choice(np.flatnonzero(offices.district == di), size=k)
            fmt[members] = ADDR_CLUSTER
            road[members] = c_road[which]
            number[members] = c_number[which]
            room[members] = c_room[which]
            building[members] = c_building[which]
            office[members] = c_office[which]
        # Shared offices and incubators: 2–5 companies behind one door.
        shared = np.flatnonzero(
            in_d & companies & (u >= d.cluster_share) & (u < d.cluster_share + 0.2)
        )
        if len(shared):
            k = max(1, len(shared) // 3)
            which = rng.integers(0, k, len(shared))
            s_road = rng.integers(0, 12, k)
            s_number = rng.integers(1, 1000, k)
            s_room = rng.integers(1, 31, k) * 100 + rng.integers(1, 21, k)
            s_office = rng.choice(np.flatnonzero(offices.district == di), size=k)
            road[shared] = s_road[which]
            number[shared] = s_number[which]
            room[shared] = s_room[which]
            office[shared] = s_office[which]
    key = (
        (((district.astype(np.int64) * 8 + fmt) * 16 + road) * 1024 + number) * 4096 + room
    ) * 16 + building
    return key, office


def _cluster_sizes(rng: np.random.Generator, members: int) -> np.ndarray:
    """Cluster sizes summing to `members`."""
    sizes = 2 + np.floor(np.exp(rng.normal(math.log(15), 1.3, members // 2 + 1))).astype(np.int64)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, members)) + 1
    sizes = sizes[:k]
    sizes[-1] -= int(cum[k - 1]) - members
    return sizes[sizes > 0]


def make_population(
    rng_of: dict[str, np.random.Generator],
    n: int,
    as_of: date,
    offices: Offices,
    params: TruthParams,
) -> tuple[Population, Naming]:
    """All entities of the city. rng_of maps a stage name to its own generator."""
    today = day_number(as_of)
    rng = rng_of["kinds"]
    weights = np.array([d.weight for d in cat.DISTRICTS])
    district = rng.permutation(np.repeat(np.arange(len(cat.DISTRICTS)), allocate(n, weights)))
    etype = _entity_types(rng, district)
    shares, ind_beta, ind_shell, _ = _industry_tables()
    industry = _choose(rng, shares, etype.astype(np.int64)).astype(np.int16)
    reg_day = _registration_days(rng, etype, today)

    rng = rng_of["attributes"]
    licences = _bits(rng, industry, etype, "licences")
    tags = _bits(rng, industry, etype, "tags")
    capital = _capital(rng, etype)
    office = np.empty(n, dtype=np.int64)
    for di in range(len(cat.DISTRICTS)):
        sel = np.flatnonzero(district == di)
        own = np.flatnonzero(offices.district == di)
        w = offices.weight[own]
        office[sel] = own[rng.choice(len(own), size=len(sel), p=w / w.sum())]

    rng = rng_of["addresses"]
    address_key, office = _addresses(rng, offices, district, office, etype)
    _, inverse, counts = np.unique(address_key, return_inverse=True, return_counts=True)
    cluster = counts[inverse].astype(np.int32)
    # One position per address: shared addresses share coordinates.
    first = np.full(len(counts), n, dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(n))
    spot_lat = offices.lat[office[first]] + rng.normal(0, 0.012, len(counts))
    spot_lon = offices.lon[office[first]] + rng.normal(0, 0.012, len(counts))
    lat, lon = spot_lat[inverse], spot_lon[inverse]

    rng = rng_of["latent"]
    z = rng.standard_normal(n)
    age = (today - reg_day) / DAYS_PER_YEAR
    log_cluster = np.log(cluster)
    is_company = etype == cat.COMPANY
    shell_p = sigmoid(
        params.shell_intercept
        + params.shell_latent * z
        + params.shell_cluster * log_cluster
        + params.shell_young * (age < 3)
        + ind_shell[industry]
    )
    shell = is_company & (rng.random(n) < shell_p)
    dormant_p = sigmoid(
        params.dormant_intercept + params.dormant_latent * z + params.dormant_age * age
    )
    dormant = ~shell & (rng.random(n) < dormant_p)

    status, exit_day = _statuses(rng, etype, reg_day, shell, dormant, today)

    n_licences = np.unpackbits(licences[:, None], axis=1).sum(axis=1)
    small_capital = is_company & (np.nan_to_num(capital, nan=np.inf) < 1e5)
    static_logit = (
        params.intercept
        + np.array(params.entity_type)[etype]
        + ind_beta[industry]
        + params.licence_each * n_licences
        + params.cluster_log * log_cluster
        + params.small_capital * small_capital
    )

    rng = rng_of["codes"]
    codes = _credit_codes(rng, district, etype, reg_day)
    word, trade, variant, naming = _naming(rng, district, etype, industry)

    pop = Population(
        n=n,
        district=district.astype(np.int8),
        office=office.astype(np.int32),
        etype=etype,
        industry=industry,
        licences=licences,
        tags=tags,
        reg_day=reg_day,
        exit_day=exit_day,
        status=status,
        capital=capital,
        address_key=address_key,
        cluster=cluster,
        lat=lat,
        lon=lon,
        latent=z,
        shell=shell,
        dormant=dormant,
        static_logit=static_logit,
        codes=codes,
        word=word,
        trade=trade,
        name_variant=variant,
    )
    return pop, naming


def _statuses(
    rng: np.random.Generator,
    etype: np.ndarray,
    reg_day: np.ndarray,
    shell: np.ndarray,
    dormant: np.ndarray,
    today: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Status at as_of and the (hidden) day the entity left; shells get revoked more."""
    n = len(etype)
    probs = np.array([cat.EXIT_PROBS[t] for t in range(len(cat.ENTITY_TYPES))])[etype]
    # Shells are revoked far more often; dormant entities are revoked or cancelled more.
    probs[:, 0] *= np.where(shell, 6.0, np.where(dormant, 3.0, 1.0))
    probs[:, 1] *= np.where(dormant, 1.5, 1.0)
    probs = np.minimum(probs, 0.3)
    u = rng.random(n)
    cdf = np.cumsum(probs, axis=1)
    kind = (u[:, None] > cdf).sum(axis=1)  # 0 revoked, 1 cancelled, 2 moved out, 3 stays
    status_of = np.array([cat.REVOKED, cat.CANCELLED, cat.MOVED_OUT, cat.ACTIVE], dtype=np.int8)
    status = status_of[kind]
    # Leaving happens after at least 30 days; revocation typically after years of silence.
    earliest = reg_day + np.where(status == cat.REVOKED, 2 * 365, 30)
    too_young = earliest >= today
    status[too_young] = cat.ACTIVE
    span = np.maximum(today - earliest, 1)
    exit_day = np.where(
        status == cat.ACTIVE, NEVER, earliest + np.floor(rng.random(n) * span)
    ).astype(np.int32)
    return status, exit_day


def _credit_codes(
    rng: np.random.Generator, district: np.ndarray, etype: np.ndarray, reg_day: np.ndarray
) -> np.ndarray:
    n = len(district)
    d_codes = np.array([d.code for d in cat.DISTRICTS], dtype=object)
    region = d_codes[district]
    u = rng.random(n)
    enterprise = (etype == cat.COMPANY) | (etype == cat.BRANCH)
    moved = d_codes[rng.integers(0, len(d_codes), n)]
    other_city = np.array(cat.OTHER_CITIES, dtype=object)[rng.integers(0, len(cat.OTHER_CITIES), n)]
    region = np.where(enterprise & (u < 0.12), cat.CITY_REGISTRY, region)
    region = np.where(enterprise & (u >= 0.12) & (u < 0.17), moved, region)
    region = np.where(enterprise & (u >= 0.17) & (u < 0.185), other_city, region)
    region = np.where((etype == cat.INDIVIDUAL) & (u < 0.05), moved, region)
    foreign = etype == cat.FOREIGN_REP
    region = np.where(foreign & (u < 0.6), cat.PROVINCE_REGISTRY, region)
    region = np.where(foreign & (u >= 0.6), cat.CITY_REGISTRY, region)
    scheme = np.where(
        reg_day >= REFORM_DAY, SCHEME_MA, np.where(etype == cat.INDIVIDUAL, SCHEME_L, SCHEME_DIGITS)
    )
    body = organisation_bodies(rng, scheme)
    category = np.array([cat.USCC_CATEGORY[t] for t in range(len(cat.ENTITY_TYPES))], dtype=object)
    return credit_codes(category[etype], region, body)


def _naming(
    rng: np.random.Generator, district: np.ndarray, etype: np.ndarray, industry: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Naming]:
    """Per entity: business word, a trade-name code unique in its naming group, a variant."""
    words: list[str] = []
    index: dict[str, int] = {}

    def word_ids(ws: tuple[str, ...]) -> np.ndarray:
        for w in ws:
            if w not in index:
                index[w] = len(words)
                words.append(w)
        return np.array([index[w] for w in ws])

    n = len(etype)
    word = np.zeros(n, dtype=np.int32)
    u = rng.random(n)
    for ii, ind in enumerate(cat.INDUSTRIES):
        in_i = industry == ii
        for t in range(len(cat.ENTITY_TYPES)):
            sel = np.flatnonzero(in_i & (etype == t))
            if not len(sel):
                continue
            if t == cat.INDIVIDUAL:
                ws = ind.shop_words or ind.words
            elif t == cat.COOPERATIVE:
                ws = cat.COOP_WORDS.get(ind.code, ind.words)
            else:
                ws = ind.words
            ids = word_ids(ws)
            word[sel] = ids[(u[sel] * len(ids)).astype(np.int64)]
    # Naming groups: individuals and cooperatives are unique per district.
    local = (etype == cat.INDIVIDUAL) | (etype == cat.COOPERATIVE)
    group = (word.astype(np.int64) * 8 + etype) * 16 + np.where(local, district, 15)
    trade = np.empty(n, dtype=np.int64)
    order = np.argsort(group, kind="stable")
    keys, starts = np.unique(group[order], return_index=True)
    bounds = np.append(starts, n)
    for g in range(len(keys)):
        members = order[bounds[g] : bounds[g + 1]]
        trade[members] = trade_codes(rng, len(members))
    variant = rng.integers(0, 100, n).astype(np.int8)
    return word, trade, variant, Naming(words=tuple(words))
