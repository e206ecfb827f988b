"""A tiny city written straight into the database for workflow tests: a few hundred
enterprises in two districts, items of three departments, inspectors, and a tasks file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine import uscc

DISTRICTS = ("440106", "440105")
TASKS_HEADER = (
    "task_code,title,items,targeted,industries,ratio_A,ratio_B,ratio_C,ratio_D,floor,mode,team_size"
)
TASK_LINES = (
    "2026-12-INFO,企业公示信息抽查,SAMR-INFO,false,,0.05,0.1,0.2,0.4,0.01,cross_office,2",
    "2026-12-FOOD,餐饮联合抽查,SAMR-FOOD;FIRE-CATER,true,H62,0.1,0.2,0.4,0.6,0.01,local,3",
)


def credit_code(n: int, district: str, kind: str = "91") -> str:
    body = f"{kind}{district}{n:09d}"
    return body + uscc.check_char(body)


def build(session: Session, enterprises: int = 400) -> list[str]:
    """Fills the directories; returns the credit codes."""
    session.add_all(models.Department(code=d) for d in ("SAMR", "HEALTH", "FIRE"))
    units = [f"{d}-0{k}" for d in DISTRICTS for k in (1, 2)]
    session.add_all(models.Unit(code=u, district=u[:6]) for u in units)
    session.flush()
    codes = []
    for i in range(enterprises):
        district = DISTRICTS[i % 2]
        catering = i % 3 == 0
        code = credit_code(i, district, "92" if i % 5 == 0 else "91")
        codes.append(code)
        session.add(
            models.Enterprise(
                credit_code=code,
                name=f"测试企业{i}",
                entity_type="individual" if code.startswith("92") else "company",
                industry="H62" if catering else "F52",
                district=district,
                unit=f"{district}-0{1 + i % 2}",
                registered_on=date(2015, 1, 1),
                status="active" if i % 17 else "revoked",
                licences="food_business" if catering else None,
            )
        )
    session.add_all(
        [
            models.Item(
                item_code="SAMR-INFO",
                department="SAMR",
                title="企业公示信息检查",
                legal_basis="《企业信息公示暂行条例》第十五条",
                kind="general",
                entity_types="company",
            ),
            models.Item(
                item_code="SAMR-FOOD",
                department="SAMR",
                title="餐饮服务食品安全检查",
                legal_basis="《中华人民共和国食品安全法》第一百一十条",
                kind="general",
                industries="H62",
                licences="food_business",
                qualification="food",
            ),
            models.Item(
                item_code="FIRE-CATER",
                department="FIRE",
                title="餐饮场所消防安全检查",
                legal_basis="《中华人民共和国消防法》第五十三条",
                kind="general",
                industries="H62",
                qualification="fire",
            ),
        ]
    )
    session.flush()
    return codes


def tasks_file(tmp_path: Path, lines: tuple[str, ...] = TASK_LINES) -> Path:
    path = tmp_path / "tasks.csv"
    path.write_text("\n".join([TASKS_HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def add_inspectors(session: Session, per_unit: int = 3, capacity: int = 20) -> list[str]:
    """SAMR inspectors (qualified for food) and FIRE inspectors in every office."""
    ids = []
    for unit in session.scalars(select(models.Unit.code).order_by(models.Unit.code)).all():
        for department, qualifications in (("SAMR", "food"), ("FIRE", "fire")):
            for k in range(per_unit):
                inspector_id = f"{department[0]}{unit.replace('-', '')}{k:02d}"
                ids.append(inspector_id)
                session.add(
                    models.Inspector(
                        inspector_id=inspector_id,
                        name=f"检查员{inspector_id}",
                        department=department,
                        unit=unit,
                        district=unit[:6],
                        qualifications=qualifications,
                        certificate_expires=date(2028, 12, 31),
                        lead=k == 0,
                        monthly_capacity=capacity,
                    )
                )
    session.flush()
    return ids
