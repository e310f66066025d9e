"""One-page A4 policy briefs (PDF, optionally HTML) of a result or a comparison.

:func:`make_brief` writes one page per scenario, and for a comparison first
one page comparing them. A scenario page has: the title and solver status;
the KPI table (target, achieved, attainment, met, binds); a headline line
(public cost, jobs displaced, firms by action); a generated paragraph of what
binds and what it costs at the margin (:mod:`sim.brief.text`); and four
figures (attainment, actions by district, MAC curve, land and energy freed
by district). A comparison page has the KPI table across scenarios, the
differences from the reference, and attainment, marginal costs, actions per
scenario and land/energy freed.

The PDF embeds the Noto Sans CJK SC font (from ``mplfonts``) with fpdf2, so
Chinese text is real text (searchable, extractable), not an image.
"""

from __future__ import annotations

import base64
import html
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr
from fpdf import FPDF
from matplotlib.figure import Figure

from sim.brief.text import (
    comparison_sentences,
    fmt_cost_wan,
    fmt_pct,
    fmt_value,
    headline,
    scenario_text,
    unit_text,
)
from sim.plots.briefing import (
    plot_action_counts,
    plot_action_mix,
    plot_freed_by_district,
    plot_mac_curve,
    plot_marginal_costs,
    plot_target_attainment,
    scenario_title,
    select_scenario,
)
from sim.plots.style import (
    check_lang,
    figure_provenance,
    fmt_number,
    font_path,
    label,
    save_figure,
)
from sim.results.atomic import atomic_path
from sim.results.compare import is_comparison, read_any

FONT = "NotoSansCJK"
MARGIN = 12.0  # mm
PAGE_W = 210.0  # A4, mm
PAGE_H = 297.0
FIG_SIZE = (4.7, 3.9)  # inches: rendered size of a figure placed half-page wide
GREY = (90, 90, 90)
HEADER_FILL = (228, 234, 242)

FigureBuilder = Callable[[], Figure]


def make_brief(
    source: xr.Dataset | str | Path,
    out: str | Path,
    *,
    lang: str = "zh",
    html_copy: bool = False,
) -> Path:
    """Write the brief of a result or comparison to ``out`` (PDF) atomically.

    Args:
        source: a result or comparison Dataset, or the path of either file.
        out: the PDF path.
        lang: "zh" (default) or "en".
        html_copy: also write ``out`` with suffix ``.html`` (figures inline).

    Returns:
        The PDF path.
    """
    check_lang(lang)
    ds = source if isinstance(source, xr.Dataset) else read_any(source)
    out = Path(out)
    pages: list[_Page] = []
    if is_comparison(ds):
        pages.append(_comparison_page(ds, lang))
        for name in ds["scenario"].values.astype(str):
            pages.append(_scenario_page(select_scenario(ds, name), lang))
    else:
        pages.append(_scenario_page(ds, lang))
    with tempfile.TemporaryDirectory(prefix="tenglong-brief-") as tmp:
        images = [[_render(build, Path(tmp) / f"p{i}-f{j}.png")
                   for j, build in enumerate(page.figures)] for i, page in enumerate(pages)]
        pdf = _pdf(pages, images, lang)
        pdf.set_subject(figure_provenance(ds))  # what produced the brief
        with atomic_path(out) as target:
            pdf.output(str(target))
        if html_copy:
            with atomic_path(out.with_suffix(".html")) as target:
                target.write_text(_html(pages, images, lang), encoding="utf-8")
    return out


class _Page:
    """The content of one page, before layout."""

    def __init__(self, title: str, subtitle: str, table: list[list[str]],
                 headline: str, text: str, figures: list[FigureBuilder]) -> None:
        self.title = title
        self.subtitle = subtitle
        self.table = table  # first row = header
        self.headline = headline
        self.text = text
        self.figures = figures


def _render(build: FigureBuilder, path: Path) -> Path:
    return save_figure(build(), path)[0]


# --------------------------------------------------------------------- content
def _status_line(ds: xr.Dataset, lang: str) -> str:
    status = str(ds.attrs.get("status", ""))
    gap = float(ds.attrs.get("gap", np.nan))
    gap_text = f"{gap:.2%}" if np.isfinite(gap) else "—"
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    short = " · 未完全达标（最小缺口方案）" if int(ds.attrs.get("shortfall", 0)) else ""
    if lang == "zh":
        return f"情景 {ds.attrs.get('scenario', '')} · 求解状态 {status} · 最优间隙 {gap_text}" \
               f"{short} · 生成于 {when}"
    short_en = " · SHORTFALL plan (targets not all met)" if short else ""
    return f"scenario {ds.attrs.get('scenario', '')} · status {status} · gap {gap_text}" \
           f"{short_en} · generated {when}"


def kpi_rows(ds: xr.Dataset, lang: str = "zh") -> list[list[str]]:
    """The KPI table of one result as printed: header, then one row per KPI with a target."""
    if lang == "zh":
        header = ["指标", "单位", "目标", "实际", "完成度", "达标", "约束", "边际成本"]
    else:
        header = ["KPI", "unit", "target", "achieved", "attain.", "met", "binds", "marginal cost"]
    rows = [header]
    for name in ds["kpi"].values.astype(str):
        row = ds.sel(kpi=name)
        target = float(row["kpi_target"])
        if not np.isfinite(target):
            continue
        unit = str(row["kpi_unit"].item())
        achieved = float(row["kpi_achieved"])
        mc = float(row["kpi_marginal_cost_yuan"])
        binds = bool(row["kpi_binding"]) or (np.isfinite(mc) and mc != 0)
        limit = str(row["kpi_sense"].item()) == "<="
        suffix = "（上限）" if lang == "zh" else " (limit)"
        name_text = label(name, lang) + (suffix if limit else "")
        yes, no = ("是", "否") if lang == "zh" else ("yes", "NO")
        rows.append([
            name_text,
            unit_text(unit, lang),
            fmt_value(target, unit),
            fmt_value(achieved, unit),
            fmt_pct(achieved / target if target else np.nan),
            yes if bool(row["kpi_met"]) else no,
            ("是" if lang == "zh" else "yes") if binds else "",
            (fmt_number(abs(mc), lang, 3) if binds and np.isfinite(mc) else ""),
        ])
    return rows


def _scenario_page(ds: xr.Dataset, lang: str) -> _Page:
    title = scenario_title(ds) or str(ds.attrs.get("scenario", ""))
    figures: list[FigureBuilder] = [
        lambda: plot_target_attainment(ds, lang, figsize=FIG_SIZE),
        lambda: plot_action_mix(ds, "district", lang, figsize=FIG_SIZE),
        lambda: plot_mac_curve(ds, lang, figsize=FIG_SIZE),
        lambda: plot_freed_by_district(ds, lang, figsize=FIG_SIZE),
    ]
    note = ("（边际成本：元/单位指标，来自整数解固定后线性规划的对偶价格）" if lang == "zh"
            else " (Marginal cost: yuan per unit of the KPI, from the LP duals with the "
            "integer choices fixed.)")
    return _Page(title, _status_line(ds, lang), kpi_rows(ds, lang), headline(ds, lang),
                 scenario_text(ds, lang) + note, figures)


def comparison_rows(cmp: xr.Dataset, lang: str = "zh") -> list[list[str]]:
    """The comparison table: KPI, reference target, then per scenario "achieved (attainment)"."""
    names = list(cmp["scenario"].values.astype(str))
    ref = str(cmp.attrs["reference"])
    header = (["指标", "目标"] if lang == "zh" else ["KPI", "target"]) + names
    rows = [header]
    for kpi in cmp["kpi"].values.astype(str):
        target = cmp["kpi_target"].sel(kpi=kpi, scenario=ref).item()
        if not np.isfinite(cmp["kpi_target"].sel(kpi=kpi).values).any():
            continue
        unit = str(cmp["kpi_unit"].sel(kpi=kpi).item())
        shown_unit = "" if unit == "share" else unit_text(unit, lang)
        cells = [label(kpi, lang), f"{fmt_value(target, unit)} {shown_unit}".strip()]
        for name in names:
            achieved = float(cmp["kpi_achieved"].sel(kpi=kpi, scenario=name))
            ratio = float(cmp["kpi_attainment"].sel(kpi=kpi, scenario=name))
            cells.append(f"{fmt_value(achieved, unit)} ({fmt_pct(ratio)})")
        rows.append(cells)
    firms = cmp["action_count"].sel(action_kind=["exit", "merge", "relocate", "upgrade"]).sum(
        "action_kind")
    rows.append([("整治企业" if lang == "zh" else "firms acting"), ""]
                + [f"{int(firms.sel(scenario=n))}" for n in names])
    rows.append([("求解状态" if lang == "zh" else "status"), ""]
                + [str(cmp["status"].sel(scenario=n).item()) for n in names])
    return rows


def _comparison_page(cmp: xr.Dataset, lang: str) -> _Page:
    names = list(cmp["scenario"].values.astype(str))
    ref = str(cmp.attrs["reference"])
    cost = {n: float(cmp["kpi_achieved"].sel(scenario=n, kpi="public_cost_wan")) for n in names}
    if lang == "zh":
        title = "情景比较：" + "、".join(names)
        sub = f"参照情景 {ref} · 表中为实际值（完成度）· 生成于 {datetime.now(UTC):%Y-%m-%d}"
        head = "财政成本：" + "，".join(f"{n} {fmt_cost_wan(cost[n])}" for n in names)
    else:
        title = "Scenario comparison: " + ", ".join(names)
        sub = f"reference {ref} · cells: achieved (attainment) · generated " \
              f"{datetime.now(UTC):%Y-%m-%d}"
        head = "public cost: " + "; ".join(f"{n} {fmt_cost_wan(cost[n], 'en')}" for n in names)
    sentences = comparison_sentences(cmp, lang)
    text = ("".join(sentences) if lang == "zh" else " ".join(sentences)) or (
        "只有一个情景。" if lang == "zh" else "Only one scenario.")
    figures: list[FigureBuilder] = [
        lambda: plot_target_attainment(cmp, lang, figsize=FIG_SIZE),
        lambda: plot_marginal_costs(cmp, lang, figsize=FIG_SIZE),
        lambda: plot_action_counts(cmp, lang, figsize=FIG_SIZE),
        lambda: plot_freed_by_district(cmp, lang, figsize=FIG_SIZE),
    ]
    return _Page(title, sub, comparison_rows(cmp, lang), head, text, figures)


# --------------------------------------------------------------------- layout
def _pdf(pages: list[_Page], images: list[list[Path]], lang: str) -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_font(FONT, "", str(font_path()))
    pdf.set_title(pages[0].title)
    pdf.set_creator("tenglong")
    for page, figs in zip(pages, images, strict=True):
        pdf.add_page()
        _page(pdf, page, figs, lang)
    return pdf


def _page(pdf: FPDF, page: _Page, figs: list[Path], lang: str) -> None:
    width = PAGE_W - 2 * MARGIN
    pdf.set_font(FONT, size=15)
    pdf.set_text_color(20, 40, 80)
    pdf.multi_cell(width, 7.5, page.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=8)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(width, 4.5, page.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    _table(pdf, page.table, width)
    pdf.ln(2)
    pdf.set_font(FONT, size=9.5)
    pdf.set_text_color(0, 0, 0)
    pdf.set_fill_color(245, 245, 245)
    pdf.multi_cell(width, 5.5, page.headline, fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    pdf.set_font(FONT, size=8.5)
    pdf.set_text_color(30, 30, 30)
    pdf.multi_cell(width, 4.6, page.text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _figures(pdf, figs, width)
    pdf.set_font(FONT, size=6.5)
    pdf.set_text_color(*GREY)
    pdf.set_xy(MARGIN, PAGE_H - MARGIN + 3)
    pdf.cell(width, 3, "tenglong 腾笼换鸟 · " + ("政策简报" if lang == "zh" else "policy brief"),
             align="R")


KPI_TABLE_WIDTHS = (0.22, 0.15, 0.11, 0.11, 0.1, 0.08, 0.08, 0.15)


def _table(pdf: FPDF, rows: list[list[str]], width: float) -> None:
    n = len(rows[0])
    if n == len(KPI_TABLE_WIDTHS):
        widths = [width * f for f in KPI_TABLE_WIDTHS]
    else:
        first = 0.22 if n <= 6 else 0.18
        widths = [width * first] + [width * (1.0 - first) / (n - 1)] * (n - 1)
    size = 7.5 if n <= 8 else 6.5
    for r, row in enumerate(rows):
        pdf.set_font(FONT, size=size)
        pdf.set_text_color(0, 0, 0)
        fill = r == 0
        pdf.set_fill_color(*HEADER_FILL)
        for c, (cell, w) in enumerate(zip(row, widths, strict=True)):
            if r > 0 and cell in ("否", "NO"):
                pdf.set_text_color(192, 57, 43)
            align = "L" if c == 0 else "R"
            pdf.cell(w, 4.6, _fit(pdf, cell, w - 1.5), border="B", align=align, fill=fill)
            pdf.set_text_color(0, 0, 0)
        pdf.ln(4.6)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut with an ellipsis so that it fits ``width`` mm."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _figures(pdf: FPDF, figs: list[Path], width: float) -> None:
    """Two figures a row, scaled to fit the space left on the page."""
    gap = 4.0
    top = pdf.get_y()
    avail = PAGE_H - MARGIN - top
    col = (width - gap) / 2
    ratio = FIG_SIZE[1] / FIG_SIZE[0]
    rows = (len(figs) + 1) // 2
    h = min(col * ratio, (avail - gap * (rows - 1)) / max(rows, 1))
    w = h / ratio
    for i, path in enumerate(figs):
        x = MARGIN + (i % 2) * (col + gap) + (col - w) / 2
        y = top + (i // 2) * (h + gap)
        pdf.image(str(path), x=x, y=y, w=w, h=h)


def _html(pages: list[_Page], images: list[list[Path]], lang: str) -> str:
    """A self-contained HTML copy of the brief (figures inline as PNG data URIs)."""
    parts = [f"<!doctype html><html lang='{'zh-CN' if lang == 'zh' else 'en'}'><head>"
             "<meta charset='utf-8'><title>tenglong brief</title><style>"
             "body{font-family:'Noto Sans CJK SC',sans-serif;max-width:60em;margin:auto}"
             "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ccc;"
             "text-align:right}td:first-child,th:first-child{text-align:left}"
             "img{width:48%;margin:1%}section{page-break-after:always}</style></head><body>"]
    for page, figs in zip(pages, images, strict=True):
        parts.append(f"<section><h1>{html.escape(page.title)}</h1>"
                     f"<p><small>{html.escape(page.subtitle)}</small></p><table>")
        for r, row in enumerate(page.table):
            tag = "th" if r == 0 else "td"
            parts.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row)
                         + "</tr>")
        parts.append(f"</table><p><b>{html.escape(page.headline)}</b></p>"
                     f"<p>{html.escape(page.text)}</p>")
        for path in figs:
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(f"<img alt='' src='data:image/png;base64,{data}'>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)
