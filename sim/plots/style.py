"""The house style of every tenglong figure: font, palette, sizes, labels.

Chinese text needs a CJK font. The Noto Sans CJK SC font shipped by the
``mplfonts`` package is registered with matplotlib once
(:func:`register_font`) and made the default sans-serif family, so Chinese
labels render without "Glyph missing" warnings on any machine that installed
tenglong. Labels exist in Chinese (``lang="zh"``, the default) and English
(``lang="en"``); :func:`label` looks them up.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state)
drawn on the Agg canvas; :func:`save_figure` writes PNG (200 dpi), SVG or PDF.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import xarray as xr
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.errors import InputError
from sim.results.atomic import atomic_path
from sim.results.manifest import to_json

FONT_FILE = "NotoSansCJKsc-Regular.otf"
FONT_FAMILY = "Noto Sans CJK SC"
DPI = 200
LANGS = ("zh", "en")

# A4-friendly sizes (inches): a full-width figure and a half-width one.
FIG_WIDE = (7.2, 3.6)
FIG_TALL = (7.2, 4.6)
FIG_HALF = (4.2, 3.2)

# Colours: one per action kind (keep grey; exit red; merge purple; relocate
# blue; upgrade green), and a cycle for scenarios.
ACTION_ORDER = ("exit", "merge", "relocate", "upgrade", "keep")
ACTION_COLORS = {
    "keep": "#bdbdbd",
    "exit": "#d62728",
    "merge": "#9467bd",
    "relocate": "#1f77b4",
    "upgrade": "#2ca02c",
}
SCENARIO_COLORS = ("#1f4e79", "#e07b39", "#3a923a", "#c03d3e", "#7b5ea7", "#8c6d31", "#4c9db0")
CLASS_COLORS = {"A": "#1a9850", "B": "#91cf60", "C": "#fdae61", "D": "#d73027", "": "#bdbdbd"}
TARGET_LINE_COLOR = "#c0392b"
NEUTRAL = "#4d4d4d"

LABELS: dict[str, tuple[str, str]] = {
    # actions
    "keep": ("保留", "keep"),
    "exit": ("整体腾退", "exit"),
    "merge": ("兼并重组", "merge"),
    "relocate": ("搬迁入园", "relocate"),
    "upgrade": ("改造提升", "upgrade"),
    "gone": ("退出/并入", "exited or merged"),
    # KPIs (names as in the result's ``kpi`` coordinate)
    "land_freed_mu": ("盘活低效工业用地", "land freed"),
    "energy_saved_tce": ("腾出用能", "energy freed"),
    "co2_cut_t": ("减碳", "CO2 cut"),
    "firms_rectified": ("整治提升企业", "firms rectified"),
    "tax_per_mu_wan": ("规上亩均税收", "tax per mu"),
    "va_per_mu_wan": ("规上亩均增加值", "VA per mu"),
    "labour_productivity_wan": ("全员劳动生产率", "labour productivity"),
    "energy_intensity_reduction": ("单位增加值能耗下降", "energy-intensity cut"),
    "public_cost_wan": ("财政成本", "public cost"),
    "private_capex_wan": ("企业投资", "private capex"),
    "jobs_lost": ("岗位调整", "jobs displaced"),
    "projects_admitted": ("新项目落地", "projects admitted"),
    "va_after_wan": ("期末工业增加值", "end-year value added"),
    # axes and titles
    "attainment": ("目标完成度（实际/目标，%）", "attainment (achieved / target, %)"),
    "attainment_title": ("目标完成情况", "Target attainment"),
    "limit_use": ("上限使用", "limit used"),
    "target_line": ("目标 100%", "target 100%"),
    "firms": ("企业数（家）", "firms"),
    "action_mix_district": ("各区县整治方式", "Actions by district"),
    "action_mix_sector": ("各行业整治方式", "Actions by sector"),
    "mac_title": ("边际减碳成本曲线", "Marginal abatement cost curve"),
    "mac_x": ("累计减碳量（万吨CO2/年）", "cumulative CO2 cut (kt CO2/yr)"),
    "mac_y": ("财政成本（元/吨CO2）", "public cost (yuan per t CO2)"),
    "mac_chosen": ("所选方案", "chosen action"),
    "mac_next": ("次优整治方式", "next-best other action"),
    "mac_target": ("减碳目标", "CO2 target"),
    "mc_title": ("约束目标的边际成本", "Marginal cost of binding targets"),
    "mc_x": ("边际成本（元/单位，对数坐标）", "marginal cost (yuan per unit, log scale)"),
    "mc_none": ("无约束目标（所有目标均有余量）", "no binding target (all targets have slack)"),
    "pareto_title": ("帕累托前沿", "Pareto frontier"),
    "pareto_cost": ("财政成本（亿元）", "public cost (100 million yuan)"),
    "pareto_jobs": ("岗位调整（人）", "jobs displaced (persons)"),
    "pareto_va": ("期末工业增加值（亿元）", "end-year value added (100 million yuan)"),
    "pareto_min_cost": ("最低成本方案", "least-cost plan"),
    "class_title": ("亩均评价等级分布", "亩均 class distribution"),
    "class_before": ("整治前", "before"),
    "class_after": ("整治后", "after"),
    "class_y": ("企业数（家）", "firms"),
    "freed_title": ("各区县腾出土地与用能", "Land and energy freed by district"),
    "freed_land": ("盘活土地（亩）", "land freed (mu)"),
    "freed_energy": ("腾出用能（万吨标准煤）", "energy freed (10 kt coal eq.)"),
    "district": ("区县", "district"),
    "sector": ("行业", "sector"),
    "scenario": ("情景", "scenario"),
}

# Units shown after marginal costs: 元 per unit of the KPI.
MC_UNITS: dict[str, tuple[str, str]] = {
    "land_freed_mu": ("元/亩", "yuan/mu"),
    "energy_saved_tce": ("元/吨标准煤", "yuan/tce"),
    "co2_cut_t": ("元/吨CO2", "yuan/t CO2"),
    "firms_rectified": ("元/家", "yuan/firm"),
    "tax_per_mu_wan": ("元/(万元/亩)", "yuan per 10k yuan/mu"),
    "va_per_mu_wan": ("元/(万元/亩)", "yuan per 10k yuan/mu"),
    "labour_productivity_wan": ("元/(万元/人)", "yuan per 10k yuan/person"),
    "energy_intensity_reduction": ("元/百分点", "yuan per pct point"),
    "public_cost_wan": ("元/万元", "yuan per 10k yuan"),
    "jobs_lost": ("元/人", "yuan/person"),
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is a supported language, else raise :class:`InputError`."""
    if lang not in LANGS:
        raise InputError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}.")
    return lang


def label(key: str, lang: str = "zh") -> str:
    """The label of ``key`` in ``lang``; unknown keys are returned unchanged."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if check_lang(lang) == "zh" else pair[1]


def mc_unit(kpi: str, lang: str = "zh") -> str:
    """Unit of a KPI's marginal cost (元 per unit of the KPI) in ``lang``."""
    pair = MC_UNITS.get(kpi, ("元/单位", "yuan/unit"))
    return pair[0] if lang == "zh" else pair[1]


@functools.cache
def font_path() -> Path:
    """Path of the bundled Noto Sans CJK SC font (from the ``mplfonts`` package)."""
    import mplfonts

    path = Path(os.path.dirname(mplfonts.__file__)) / "fonts" / FONT_FILE
    if not path.exists():
        raise InputError(f"the CJK font {path} is missing; reinstall the mplfonts package.")
    return path


@functools.cache
def register_font() -> str:
    """Register the CJK font with matplotlib once and return its family name."""
    path = font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def apply_style() -> None:
    """Set the house rcParams (font, sizes, grid, spines) on matplotlib's globals."""
    family = register_font()
    matplotlib.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [family, "DejaVu Sans"],
            "axes.unicode_minus": False,  # the CJK font has no U+2212 glyph
            "font.size": 8.5,
            "axes.titlesize": 10,
            "axes.titleweight": "normal",
            "axes.labelsize": 8.5,
            "xtick.labelsize": 7.5,
            "ytick.labelsize": 7.5,
            "legend.fontsize": 7.5,
            "legend.frameon": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e6e6e6",
            "grid.linewidth": 0.6,
            "axes.axisbelow": True,
            "figure.dpi": 100,
            "savefig.dpi": DPI,
            "svg.fonttype": "path",
            "pdf.fonttype": 42,
        }
    )


def new_figure(size: tuple[float, float] = FIG_WIDE) -> Figure:
    """A new :class:`Figure` on the Agg canvas in the house style (no pyplot state)."""
    apply_style()
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def scenario_colors(n: int) -> list[str]:
    """``n`` scenario colours from the house cycle (repeating when n is large)."""
    return [SCENARIO_COLORS[i % len(SCENARIO_COLORS)] for i in range(n)]


#: metadata key of the provenance text in each format (PNG tEXt chunk, SVG
#: Dublin Core, PDF document info)
PROVENANCE_KEY = {"png": "tenglong-manifest", "svg": "Source", "pdf": "Subject"}


def save_figure(
    fig: Figure,
    path: str | Path,
    formats: Iterable[str] | None = None,
    provenance: str | None = None,
) -> list[Path]:
    """Write ``fig`` atomically; PNG at 200 dpi, SVG and PDF as vectors.

    Args:
        fig: the figure.
        path: target path; its suffix is the format when ``formats`` is None.
        formats: e.g. ``("png", "svg")``: one file per format, beside ``path``.
        provenance: what produced the figure (a result's manifest JSON), stored
            in the file's metadata under :data:`PROVENANCE_KEY` so that a plot
            pasted into a briefing can be traced back (PNG: read it with
            :func:`read_png_provenance`).

    Returns:
        The paths written.
    """
    path = Path(path)
    kinds: Sequence[str] = list(formats) if formats else [path.suffix.lstrip(".") or "png"]
    written = []
    for kind in kinds:
        if kind not in ("png", "svg", "pdf"):
            raise InputError(f"unsupported figure format {kind!r}; use png, svg or pdf.")
        target = path.with_suffix(f".{kind}")
        metadata = {PROVENANCE_KEY[kind]: provenance} if provenance else None
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=kind, dpi=DPI, metadata=metadata)
        written.append(target)
    return written


def figure_provenance(ds: xr.Dataset) -> str:
    """What produced a figure of ``ds``: its manifest JSON; for a comparison the
    manifest of every scenario (``{scenario: manifest}``); otherwise the
    dataset's attributes (scenario, draws, seed … of a Monte Carlo or sweep)."""
    if "manifest" in ds.attrs:
        return str(ds.attrs["manifest"])
    if "manifest" in ds and "scenario" in ds.dims:
        per_scenario = {
            str(s): json.loads(str(m))
            for s, m in zip(ds["scenario"].values, ds["manifest"].values, strict=True)
        }
        return to_json(per_scenario)
    return to_json({str(k): v for k, v in ds.attrs.items()})


def read_png_provenance(path: str | Path) -> str | None:
    """The provenance text :func:`save_figure` stored in a PNG (``None`` if absent)."""
    from PIL import Image

    with Image.open(path) as image:
        text = image.info.get(PROVENANCE_KEY["png"])
    return str(text) if text is not None else None


def fmt_number(value: float, lang: str = "zh", digits: int = 3) -> str:
    """A readable number: 万/亿 in Chinese, k/M/bn in English (``digits`` significant)."""
    if value != value:  # NaN
        return "—"
    sign = "-" if value < 0 else ""
    v = abs(value)
    if lang == "zh":
        for scale, suffix in ((1e8, "亿"), (1e4, "万")):
            if v >= scale:
                return f"{sign}{_sig(v / scale, digits)}{suffix}"
        return f"{sign}{_sig(v, digits)}"
    for scale, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{sign}{_sig(v / scale, digits)}{suffix}"
    return f"{sign}{_sig(v, digits)}"


def _sig(v: float, digits: int) -> str:
    """``v`` with ``digits`` significant digits, no exponent, no trailing zeros."""
    if v == 0:
        return "0"
    text = f"{v:.{digits}g}"
    if "e" in text:
        text = f"{v:.0f}"
    return text
