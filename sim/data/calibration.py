"""Load the calibration file ``sim/config/calibration.yaml`` into typed objects.

The file holds every figure the synthetic population and the register
defaults use (districts, sectors, parks, per-group control totals,
dispersion parameters), each with a ``source`` note ([S]/[R]/[I] as in
``CALIBRATION.md``). It is parsed once per path and cached; the result is
immutable by convention.

Units: money 万元, land mu, energy tce, CO2 t, distance km.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from sim.errors import InputError

DEFAULT_CALIBRATION = "calibration.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Param(_Strict):
    """One scalar figure with its source note."""

    value: float
    source: str


class District(_Strict):
    """A district: names, firm weight, centroid (km), land price floor (万元/mu)."""

    name_zh: str
    pinyin: str
    weight: float = Field(ge=0)
    x_km: float
    y_km: float
    spread_km: float = Field(ge=0)
    land_price_floor_wan_per_mu: float = Field(gt=0)
    source: str


class Sector(_Strict):
    """A GB/T 4754 manufacturing division with its relative levels.

    ``energy_intensity`` and ``intensity_benchmark`` are in tce per 万元 VA;
    ``tax_rate`` is tax / VA; the ``*_rel`` fields are relative levels.
    """

    code: str
    name_zh: str
    name_en: str
    weight: float = Field(ge=0)
    energy_intensity: float = Field(gt=0)
    intensity_benchmark: float = Field(gt=0)
    intensity_benchmark_below_scale: float = Field(gt=0)
    va_per_mu_rel: float = Field(gt=0)
    tax_rate: float = Field(ge=0)
    productivity_rel: float = Field(gt=0)
    rd_rel: float = Field(ge=0)
    size_rel: float = Field(default=1.0, gt=0)
    two_high: bool
    district_affinity: dict[str, float] = Field(default_factory=dict)
    source: str


class Park(_Strict):
    """A park (开发区/小微企业园) with spare land capacity in mu."""

    id: str
    name_zh: str
    district: str
    capacity_mu: float = Field(ge=0)
    source: str


class Reference(_Strict):
    """The reference city size the control totals refer to."""

    firms: Param
    above_scale_share: Param
    revenue_threshold_wan: Param
    min_land_mu: Param


class AboveScaleGroup(_Strict):
    """Per-firm control totals and ratio targets of the above-scale (规上) group."""

    mean_va_wan: Param
    va_per_mu: Param
    tax_per_mu: Param
    va_per_tce: Param
    va_per_employee: Param
    rd_share: Param
    va_to_revenue: Param
    land_sigma: Param
    energy_intensity_sigma: Param
    min_va_to_threshold: Param


class BelowScaleGroup(_Strict):
    """Per-firm control totals and ratio targets of the below-scale group."""

    mean_land_mu: Param
    va_per_mu: Param
    tax_per_mu: Param
    va_per_tce: Param
    va_per_employee: Param
    rd_share: Param
    va_to_revenue: Param
    land_sigma: Param
    energy_intensity_sigma: Param
    sector_intensity_exponent: Param
    max_va_to_threshold: Param


class Groups(_Strict):
    """The two firm groups."""

    above_scale: AboveScaleGroup
    below_scale: BelowScaleGroup


class Dispersion(_Strict):
    """Loadings on the latent efficiency factor and idiosyncratic log-sds."""

    size_loading: Param
    va_per_mu_loading: Param
    va_per_mu_sigma: Param
    tax_rate_loading: Param
    tax_rate_sigma: Param
    energy_intensity_loading: Param
    intensity_scale_loading: Param
    productivity_loading: Param
    productivity_sigma: Param
    rd_loading: Param
    rd_sigma: Param
    va_to_revenue_sigma: Param
    location_spread_factor: Param


class Flags(_Strict):
    """Shares and loadings of the violation, 两高 and park flags."""

    violation_share: Param
    violation_efficiency_loading: Param
    two_high_share_in_heavy_sectors: Param
    two_high_share_other: Param
    two_high_efficiency_loading: Param
    two_high_above_scale_factor: Param
    park_share: Param


class Calibration(_Strict):
    """The whole calibration file."""

    version: int
    reference: Reference
    emission_factor_t_per_tce: Param
    groups: Groups
    dispersion: Dispersion
    flags: Flags
    districts: list[District]
    sectors: list[Sector]
    parks: list[Park]

    @property
    def sector_codes(self) -> list[str]:
        """Valid sector codes, e.g. ``["C13", ..., "C43"]``."""
        return [s.code for s in self.sectors]

    @property
    def district_names(self) -> list[str]:
        """District names in Chinese, e.g. ``["上城", ...]``."""
        return [d.name_zh for d in self.districts]

    def sector(self, code: str) -> Sector:
        """The sector with this code (KeyError when unknown)."""
        for s in self.sectors:
            if s.code == code:
                return s
        raise KeyError(code)

    def district(self, name: str) -> District:
        """The district with this Chinese name (KeyError when unknown)."""
        for d in self.districts:
            if d.name_zh == name:
                return d
        raise KeyError(name)


def read_yaml(path: Path, what: str) -> Any:
    """Parse a YAML file; raise :class:`InputError` with one sentence on failure."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} file ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: the {what} file is not UTF-8 text.") from None
    try:
        return YAML(typ="safe").load(text)
    except YAMLError as exc:
        raise InputError(f"{path}: the {what} file is not valid YAML: {exc}") from None


def _check_consistency(cal: Calibration, path: Path) -> None:
    problems: list[str] = []
    names = set(cal.district_names)
    for s in cal.sectors:
        problems += [
            f"sector {s.code}: district_affinity names unknown district {d!r}"
            for d in s.district_affinity
            if d not in names
        ]
    problems += [
        f"park {p.id}: unknown district {p.district!r}"
        for p in cal.parks
        if p.district not in names
    ]
    if len(set(cal.sector_codes)) != len(cal.sectors):
        problems.append("duplicate sector codes")
    if problems:
        raise InputError(f"{path}: calibration file is inconsistent.", problems)


@functools.lru_cache(maxsize=8)
def _load_cached(path_str: str) -> Calibration:
    path = Path(path_str)
    raw = read_yaml(path, "calibration")
    try:
        cal = Calibration.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise InputError(f"{path}: calibration file is invalid.", problems) from None
    _check_consistency(cal, path)
    return cal


def default_calibration_path() -> Path:
    """Path of the packaged ``sim/config/calibration.yaml``."""
    return Path(str(resources.files("sim.config").joinpath(DEFAULT_CALIBRATION)))


def load_calibration(path: str | Path | None = None) -> Calibration:
    """Load (and cache) the calibration file; the packaged default when ``path`` is None."""
    p = Path(path) if path is not None else default_calibration_path()
    return _load_cached(str(p.resolve()))
