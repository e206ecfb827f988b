"""inspect-engine: risk-based 双随机、一公开 inspection scheduling."""

__version__ = "0.1.0"
