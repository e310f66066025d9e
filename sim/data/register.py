"""The enterprise register: column specification, loading, validation, saving.

A register is an :class:`xarray.Dataset` over the dimension ``enterprise``
whose coordinate holds the enterprise ids (str). One variable per column of
:data:`COLUMNS` (the single place where names, dtypes, units, defaults and
descriptions live); every variable carries ``units``, ``long_name`` and
``long_name_zh`` attrs.

Units: land in mu (亩), money in 万元, energy in tce (等价值), CO2 in t,
employees in persons, locations in km.

Reading (:func:`load_register`) accepts CSV (UTF-8 or GBK/GB18030), Excel
(.xlsx; first sheet or a named one), Parquet and netCDF written by
:func:`save_register`. Every problem in the file is collected and raised at
once as one :class:`~sim.errors.RegisterError`, each naming the file, the
row (1-based data row and, for CSV, the file line; for Excel the sheet and
Excel row) and the column. Nothing is silently dropped. Implausible
magnitudes (land in m², energy in kgce, money in 元) draw a ``UserWarning``.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr
from rapidfuzz import process

from sim.data.calibration import Calibration, load_calibration
from sim.errors import RegisterError
from sim.interrupts import signals_held
from sim.results.atomic import atomic_path

Kind = Literal["str", "float", "bool"]
DIM = "enterprise"


@dataclass(frozen=True)
class ColumnSpec:
    """One register column.

    Attributes:
        name: variable name in the Dataset and column name in files.
        kind: ``"str"``, ``"float"`` or ``"bool"``.
        units: units attr (``mu``, ``tce``, ``t CO2``, ``万元``, ``persons``, ``km``, ``1``).
        required: the file must have the column and no empty cell in it.
        default: how an absent column or empty cell is filled (documentation).
        long_name: English description. long_name_zh: Chinese description.
        minimum: ``">0"`` or ``">=0"`` to reject non-positive / negative values.
        aliases: other accepted headers (case-insensitive), e.g. Chinese ones.
    """

    name: str
    kind: Kind
    units: str
    required: bool
    default: str
    long_name: str
    long_name_zh: str
    minimum: Literal["", ">0", ">=0"] = ""
    aliases: tuple[str, ...] = field(default=())


# The register's columns, in file order. `id` becomes the `enterprise` coordinate.
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "id",
        "str",
        "1",
        True,
        "-",
        "enterprise identifier",
        "企业编号",
        aliases=("enterprise", "enterprise_id", "企业编号", "统一社会信用代码"),
    ),
    ColumnSpec(
        "district",
        "str",
        "1",
        True,
        "-",
        "district (区、县(市))",
        "所在区县",
        aliases=("区县", "所在区县", "所属区县", "区"),
    ),
    ColumnSpec(
        "sector",
        "str",
        "1",
        True,
        "-",
        "GB/T 4754 manufacturing division code (C13-C43)",
        "国民经济行业代码(大类)",
        aliases=("sector_code", "industry", "行业代码", "行业大类"),
    ),
    ColumnSpec(
        "land_mu",
        "float",
        "mu",
        True,
        "-",
        "land area",
        "用地面积(亩)",
        ">0",
        aliases=("land", "用地面积", "用地面积(亩)", "占地面积"),
    ),
    ColumnSpec(
        "employees",
        "float",
        "persons",
        True,
        "-",
        "employees (annual average)",
        "从业人员(年平均)",
        ">=0",
        aliases=("从业人员", "员工人数", "年平均职工人数"),
    ),
    ColumnSpec(
        "value_added_wan",
        "float",
        "万元",
        True,
        "-",
        "industrial value added",
        "工业增加值(万元)",
        aliases=("value_added", "va", "工业增加值", "增加值"),
    ),
    ColumnSpec(
        "tax_wan",
        "float",
        "万元",
        True,
        "-",
        "tax paid",
        "实缴税金(万元)",
        aliases=("tax", "税收", "实缴税金", "税收实际贡献"),
    ),
    ColumnSpec(
        "energy_tce",
        "float",
        "tce",
        True,
        "-",
        "total energy use (equivalent value)",
        "综合能耗(吨标准煤)",
        ">=0",
        aliases=("energy", "能耗", "综合能耗", "总能耗"),
    ),
    ColumnSpec(
        "revenue_wan",
        "float",
        "万元",
        False,
        "value_added_wan / va_to_revenue (calibration, above-scale 0.22)",
        "main-business revenue",
        "营业收入(万元)",
        ">=0",
        aliases=("revenue", "营业收入", "主营业务收入"),
    ),
    ColumnSpec(
        "co2_t",
        "float",
        "t CO2",
        False,
        "energy_tce × emission factor (calibration, 2.0 t CO2/tce)",
        "CO2 emissions",
        "二氧化碳排放(吨)",
        ">=0",
        aliases=("co2", "碳排放", "二氧化碳排放"),
    ),
    ColumnSpec(
        "rd_wan",
        "float",
        "万元",
        False,
        "0",
        "R&D expenditure",
        "研发经费(万元)",
        ">=0",
        aliases=("rd", "研发经费", "研发费用", "R&D经费"),
    ),
    ColumnSpec(
        "above_scale",
        "bool",
        "1",
        False,
        "revenue_wan ≥ 2,000万元 (calibration revenue_threshold_wan)",
        "above designated size (规上)",
        "是否规上",
        aliases=("规上", "是否规上"),
    ),
    ColumnSpec(
        "park",
        "str",
        "1",
        False,
        '"" (not in a park)',
        "park id",
        "所在园区",
        aliases=("园区", "所在园区"),
    ),
    ColumnSpec(
        "violation",
        "bool",
        "1",
        False,
        "false",
        "illegal or non-compliant (违法违规)",
        "违法违规",
        aliases=("违法违规",),
    ),
    ColumnSpec(
        "two_high",
        "bool",
        "1",
        False,
        "false",
        "high energy use, high emissions (两高)",
        "两高",
        aliases=("两高",),
    ),
    ColumnSpec(
        "name",
        "str",
        "1",
        False,
        "the id",
        "enterprise name",
        "企业名称",
        aliases=("企业名称", "名称"),
    ),
    ColumnSpec(
        "x_km",
        "float",
        "km",
        False,
        "district centroid (calibration); NaN if unknown",
        "location east of the city centre",
        "位置(东向,公里)",
    ),
    ColumnSpec(
        "y_km",
        "float",
        "km",
        False,
        "district centroid (calibration); NaN if unknown",
        "location north of the city centre",
        "位置(北向,公里)",
    ),
    ColumnSpec(
        "class_given",
        "str",
        "1",
        False,
        '"" (computed by the evaluation)',
        "亩均 class given in the register (A-D)",
        "亩均评价等级(已给定)",
        aliases=("class", "muni_class", "亩均等级", "亩均评价等级"),
    ),
)

COLUMN_BY_NAME: dict[str, ColumnSpec] = {c.name: c for c in COLUMNS}
REQUIRED = tuple(c.name for c in COLUMNS if c.required)
VARIABLES = tuple(c.name for c in COLUMNS if c.name != "id")

# Plausibility thresholds for magnitude warnings (not calibration figures:
# they only decide when a unit mix-up is likely).
LAND_MEDIAN_WARN_MU = 5_000.0  # a median firm on > 5,000 mu: land is probably in m²
LAND_MAX_WARN_MU = 100_000.0  # one firm on > 100,000 mu (≈ 67 km²): probably m²
INTENSITY_WARN_TCE_PER_WAN = 20.0  # median > 20 tce per 万元 VA: energy probably in kgce
VA_PER_MU_WARN_WAN = 20_000.0  # median VA > 2亿元 per mu: money probably in 元

_TRUE = {"true", "t", "yes", "y", "1", "1.0", "是", "对", "√"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "否", "", "×"}
_MAX_PER_KIND = 20  # problems of one kind listed individually before summarising
_CLASSES = {"", "A", "B", "C", "D"}


# ----------------------------------------------------------------------------
# Building a register Dataset
# ----------------------------------------------------------------------------


def column_attrs(name: str) -> dict[str, str]:
    """The attrs (units, long_name, long_name_zh) of register column ``name``."""
    c = COLUMN_BY_NAME[name]
    return {"units": c.units, "long_name": c.long_name, "long_name_zh": c.long_name_zh}


def _as_kind(values: Any, kind: Kind) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if kind == "float":
        return arr.astype(np.float64)
    if kind == "bool":
        return arr.astype(bool)
    return arr.astype(str)


def build_register(
    columns: Mapping[str, Any], attrs: Mapping[str, Any] | None = None
) -> xr.Dataset:
    """Assemble a register Dataset from complete column arrays.

    ``columns`` must hold ``id`` and every variable of :data:`COLUMNS`
    (already filled with defaults). Variables get the dtypes and attrs of the
    column spec; strings are numpy unicode arrays.
    """
    missing = [c.name for c in COLUMNS if c.name not in columns]
    if missing:
        raise ValueError(f"build_register: columns missing: {missing}")
    ids = _as_kind(columns["id"], "str")
    data_vars = {
        name: ((DIM,), _as_kind(columns[name], COLUMN_BY_NAME[name].kind), column_attrs(name))
        for name in VARIABLES
    }
    ds = xr.Dataset(data_vars, coords={DIM: ((DIM,), ids, column_attrs("id"))})
    ds.attrs.update(attrs or {})
    return ds


# ----------------------------------------------------------------------------
# Problem collection
# ----------------------------------------------------------------------------


@dataclass
class _Problems:
    """Collects problems, listing at most _MAX_PER_KIND of each kind."""

    items: list[str] = field(default_factory=list)
    overflow: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, text: str) -> None:
        n = self.counts.get(kind, 0)
        self.counts[kind] = n + 1
        if n < _MAX_PER_KIND:
            self.items.append(text)
        else:
            self.overflow[kind] = self.overflow.get(kind, 0) + 1

    def all(self) -> list[str]:
        return self.items + [f"... and {k} more: {kind}" for kind, k in self.overflow.items()]


@dataclass
class _Source:
    """Where a table came from, to name rows in messages."""

    path: Path
    fmt: Literal["csv", "excel", "parquet", "netcdf"]
    sheet: str = ""
    encoding: str = "utf-8"
    _lines: npt.NDArray[np.int64] | None = None

    def where(self, row: int) -> str:
        """Text naming 0-based data row ``row``."""
        if self.fmt == "csv":
            return f"row {row + 1} (line {self._line(row)})"
        if self.fmt == "excel":
            return f"sheet '{self.sheet}' row {row + 2} (data row {row + 1})"
        return f"row {row + 1}"

    def _line(self, row: int) -> int:
        if self._lines is None:
            self._lines = _csv_record_lines(self.path, self.encoding)
        return int(self._lines[row]) if row < len(self._lines) else row + 2


def _csv_record_lines(path: Path, encoding: str) -> npt.NDArray[np.int64]:
    """First file line (1-based) of each data record, skipping header and blank lines."""
    starts: list[int] = []
    with path.open(newline="", encoding=encoding) as fh:
        reader = csv.reader(fh)
        prev_end = 0
        for i, rec in enumerate(reader):
            start = prev_end + 1
            prev_end = reader.line_num
            if i > 0 and any(cell.strip() for cell in rec):
                starts.append(start)
    return np.asarray(starts, dtype=np.int64)


# ----------------------------------------------------------------------------
# Reading raw tables
# ----------------------------------------------------------------------------

_CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def _read_csv(path: Path) -> tuple[pd.DataFrame, _Source]:
    for enc in _CSV_ENCODINGS:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise RegisterError(f"{path}: the file is empty (no header row).") from None
        except pd.errors.ParserError as exc:
            raise RegisterError(f"{path}: not a readable CSV table ({str(exc).strip()}).") from None
        if df.shape[1] == 1 and any(s in str(df.columns[0]) for s in ("\t", ";")):
            sep = "\t" if "\t" in str(df.columns[0]) else ";"
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc, sep=sep)
        return df, _Source(path, "csv", encoding=enc)
    raise RegisterError(
        f"{path}: cannot decode the file as text (tried UTF-8 and GBK/GB18030); "
        "save it as CSV UTF-8 or Excel."
    )


def _pick_sheet(path: Path, names: list[str], sheet: str | int | None) -> str:
    if sheet is None:
        return names[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise RegisterError(f"{path}: no sheet number {sheet}; sheets are {names}.")
        return names[sheet]
    if sheet in names:
        return sheet
    raise RegisterError(f"{path}: no sheet named {sheet!r}; sheets are {names}.")


def _read_excel(path: Path, sheet: str | int | None) -> tuple[pd.DataFrame, _Source]:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for non-xlsx content
        raise RegisterError(f"{path}: not a readable Excel .xlsx workbook ({exc}).") from None
    with book:
        names = [str(s) for s in book.sheet_names]
        if sheet is None:
            sheet_name = _register_sheet(book, names)
        else:
            sheet_name = _pick_sheet(path, names, sheet)
        df = pd.read_excel(book, sheet_name=sheet_name, dtype=object)
    return df, _Source(path, "excel", sheet=sheet_name)


def _register_sheet(book: pd.ExcelFile, names: list[str]) -> str:
    """The first sheet whose header holds every required column, else the first sheet.

    Workbooks often open with a notes sheet (说明) before the table itself.
    """
    aliases = _alias_map()
    for name in names:
        header = pd.read_excel(book, sheet_name=name, nrows=0).columns
        found = {aliases.get(str(c).strip().lower()) for c in header}
        if all(r in found for r in REQUIRED):
            return name
    return names[0]


def _read_raw(path: Path, sheet: str | int | None) -> tuple[pd.DataFrame, _Source]:
    if not path.exists():
        raise RegisterError(f"{path}: file not found.")
    if path.is_dir():
        raise RegisterError(f"{path}: is a folder, not a register file.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, sheet)
    if suffix == ".parquet":
        try:
            return pd.read_parquet(path), _Source(path, "parquet")
        except Exception as exc:  # pyarrow raises its own error types
            raise RegisterError(f"{path}: not a readable Parquet file ({exc}).") from None
    if suffix == ".nc":
        try:
            # held: Ctrl-C inside the netCDF backend's constructor would leave a
            # half-built file object whose finaliser prints its own traceback
            with signals_held(second_passes=True), xr.open_dataset(path) as ds:
                df = ds.to_dataframe().reset_index()
        except Exception as exc:  # netCDF backends raise many types
            raise RegisterError(f"{path}: not a readable netCDF register ({exc}).") from None
        return df.rename(columns={DIM: "id"}), _Source(path, "netcdf")
    raise RegisterError(
        f"{path}: unsupported file type '{path.suffix}'; use .csv, .xlsx, .parquet or .nc."
    )


# ----------------------------------------------------------------------------
# Headers and cell parsing
# ----------------------------------------------------------------------------


def _alias_map() -> dict[str, str]:
    out: dict[str, str] = {}
    for c in COLUMNS:
        out[c.name.lower()] = c.name
        for a in c.aliases:
            out[a.lower()] = c.name
    return out


def _canonical_headers(df: pd.DataFrame, src: _Source, problems: _Problems) -> pd.DataFrame:
    aliases = _alias_map()
    mapping: dict[Any, str] = {}
    seen: dict[str, Any] = {}
    for col in df.columns:
        key = str(col).strip().lower()
        canon = aliases.get(key)
        if canon is None:
            continue
        if canon in seen:
            problems.add(
                "duplicate column",
                f"{src.path}: columns {seen[canon]!r} and {col!r} both mean '{canon}'",
            )
            continue
        seen[canon] = col
        mapping[col] = canon
    return df[list(mapping)].rename(columns=mapping)


def _missing_columns(
    df: pd.DataFrame, raw_cols: Sequence[Any], src: _Source, problems: _Problems
) -> None:
    present = [str(c) for c in raw_cols]
    for name in REQUIRED:
        if name in df.columns:
            continue
        hint = ""
        unused = [c for c in present if c.strip().lower() not in _alias_map()]
        if unused:
            best = process.extractOne(name, unused)
            if best is not None and best[1] >= 60:
                hint = f"; did you mean {best[0]!r}?"
        sheet = f"sheet '{src.sheet}', " if src.fmt == "excel" else ""
        problems.add("missing column", f"{src.path}: {sheet}column '{name}' is missing{hint}")


def _strings(series: pd.Series) -> npt.NDArray[np.str_]:
    """Cell texts, stripped; empty/NaN cells become ""."""
    filled = series.astype(object).where(series.notna(), "")
    return np.asarray(filled.astype(str).str.strip(), dtype=str)


def _numbers(series: pd.Series) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """(values, bad) where bad marks non-empty cells that are not finite numbers; empty → NaN.

    Infinities ("inf", "1e400", a float column holding inf) are bad cells, not values.
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.isinf(values)
    text = pd.Series(_strings(series))
    cleaned = text.str.replace(r"[,，\s]", "", regex=True)
    values = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isinf(values) | (np.isnan(values) & (cleaned != "").to_numpy())
    bad &= ~cleaned.str.lower().isin(["nan", "na", "n/a", "none", "null", "-"]).to_numpy()
    return values, bad


def _booleans(
    series: pd.Series,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(values, empty, bad) for a yes/no column."""
    text = pd.Series(_strings(series)).str.lower()
    true = text.isin(_TRUE).to_numpy()
    false = text.isin(_FALSE).to_numpy()
    return true, (text == "").to_numpy(), ~(true | false)


def _rows(mask: npt.NDArray[np.bool_]) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask)]


# ----------------------------------------------------------------------------
# Code checks: sectors and districts
# ----------------------------------------------------------------------------

_CONFUSABLE = str.maketrans({"L": "1", "I": "1", "O": "0", "Ｃ": "C"})


def suggest_sector(raw: str, cal: Calibration) -> str | None:
    """The valid sector code a user most likely meant by ``raw`` (or None).

    Handles a missing ``C`` ("26"→"C26"), l/I/O for 1/0 ("C3l"→"C31"), 4-digit
    class codes ("C2611"→"C26") and Chinese sector names ("纺织业"→"C17").
    """
    codes = cal.sector_codes
    s = raw.strip().upper().replace(" ", "")
    s = "C" + s[1:].translate(_CONFUSABLE) if s[:1] == "C" else s.translate(_CONFUSABLE)
    if s.isdigit():
        s = "C" + s
    if re.fullmatch(r"C\d{3,4}", s):
        s = s[:3]
    if s in codes:
        return s
    text = raw.strip()
    for sec in cal.sectors:
        if text and (text in sec.name_zh or text.lower() in sec.name_en.lower()):
            return sec.code
    best = process.extractOne(s, codes)
    return str(best[0]) if best is not None and best[1] >= 60 else None


def _check_sectors(
    sector: npt.NDArray[np.str_], src: _Source, cal: Calibration, problems: _Problems
) -> npt.NDArray[np.str_]:
    upper = np.char.upper(sector)
    valid = np.isin(upper, cal.sector_codes)
    for row in _rows(~valid & (sector != "")):
        hint = suggest_sector(str(sector[row]), cal)
        tip = f"; did you mean '{hint}'?" if hint else ""
        problems.add(
            "unknown sector code",
            f"{src.path}: {src.where(row)}, column 'sector': unknown sector code "
            f"{str(sector[row])!r} (expected C13–C43){tip}",
        )
    return upper


def _district_aliases(cal: Calibration) -> dict[str, str]:
    out: dict[str, str] = {}
    for d in cal.districts:
        for form in (d.name_zh, d.name_zh + "区", d.name_zh + "县", d.name_zh + "市"):
            out[form] = d.name_zh
        out[d.pinyin.lower()] = d.name_zh
        out[d.pinyin.lower().replace("'", "")] = d.name_zh
    return out


def _check_districts(
    district: npt.NDArray[np.str_],
    src: _Source,
    cal: Calibration,
    districts: Sequence[str] | None,
    allow_custom: bool,
    problems: _Problems,
) -> npt.NDArray[np.str_]:
    if districts is None:
        aliases = _district_aliases(cal)
        allowed = list(cal.district_names)
    else:
        allowed = [str(d) for d in districts]
        aliases = {d: d for d in allowed}
    keys = np.char.lower(district) if districts is None else district
    lookup = pd.Series(keys).map(aliases)
    known = lookup.notna().to_numpy()
    out = np.where(known, lookup.fillna("").to_numpy(dtype=str), district).astype(str)
    unknown = ~known & (district != "")
    if allow_custom:
        names = sorted(set(district[unknown].tolist()))
        if names:
            warnings.warn(
                f"{src.path}: {int(unknown.sum())} rows use districts not in the list "
                f"{allowed}: {names[:10]}; they are kept as custom districts.",
                UserWarning,
                stacklevel=4,
            )
        return out
    for row in _rows(unknown):
        best = process.extractOne(str(district[row]), allowed)
        tip = f"; did you mean '{best[0]}'?" if best is not None and best[1] >= 50 else ""
        problems.add(
            "unknown district",
            f"{src.path}: {src.where(row)}, column 'district': {str(district[row])!r} is not "
            f"in the district list{tip} (pass allow_custom_districts=True to accept it)",
        )
    return out


# ----------------------------------------------------------------------------
# Column parsing with defaults
# ----------------------------------------------------------------------------


def _parse_column(
    df: pd.DataFrame, spec: ColumnSpec, src: _Source, problems: _Problems
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]] | None:
    """(values, empty) of a column present in ``df``; problems for bad cells."""
    if spec.name not in df.columns:
        return None
    series = df[spec.name]
    where = f"column '{spec.name}'"
    if spec.kind == "str":
        values: npt.NDArray[Any] = _strings(series)
        empty = values == ""
    elif spec.kind == "bool":
        values, empty, bad = _booleans(series)
        for row in _rows(bad):
            problems.add(
                f"not yes/no in {spec.name}",
                f"{src.path}: {src.where(row)}, {where}: {series.iloc[row]!r} is not "
                "a yes/no value (true/false, 1/0, 是/否)",
            )
    else:
        values, bad = _numbers(series)
        empty = np.isnan(values) & ~bad
        for row in _rows(bad):
            problems.add(
                f"not a number in {spec.name}",
                f"{src.path}: {src.where(row)}, {where}: {series.iloc[row]!r} is not "
                f"a number ({spec.units})",
            )
        values = np.where(bad, np.nan, values)
        _check_minimum(values, spec, src, problems)
    if spec.required:
        for row in _rows(empty):
            problems.add(
                f"empty {spec.name}",
                f"{src.path}: {src.where(row)}, {where}: value is missing (required)",
            )
    return values, empty


def _check_minimum(
    values: npt.NDArray[np.float64], spec: ColumnSpec, src: _Source, problems: _Problems
) -> None:
    if spec.minimum == ">0":
        bad, what = values <= 0, "must be > 0"
    elif spec.minimum == ">=0":
        bad, what = values < 0, "must not be negative"
    else:
        return
    for row in _rows(bad):
        problems.add(
            f"{spec.name} {what}",
            f"{src.path}: {src.where(row)}, column '{spec.name}': {values[row]:g} "
            f"{spec.units} {what}",
        )


def _check_duplicates(ids: npt.NDArray[np.str_], src: _Source, problems: _Problems) -> None:
    s = pd.Series(ids)
    dup = s.duplicated(keep=False).to_numpy() & (ids != "")
    if not dup.any():
        return
    groups = pd.Series(np.flatnonzero(dup)).groupby(ids[dup]).agg(list)
    for ident, rows in groups.items():
        where = " and ".join(src.where(r) for r in rows)
        problems.add("duplicate id", f"{src.path}: column 'id': id {ident!r} appears in {where}")


def _check_classes(values: npt.NDArray[np.str_], src: _Source, problems: _Problems) -> None:
    upper = np.char.upper(values)
    for row in _rows(~np.isin(upper, list(_CLASSES))):
        problems.add(
            "bad class",
            f"{src.path}: {src.where(row)}, column 'class_given': {str(values[row])!r} "
            "is not one of A, B, C, D",
        )


def _fill_defaults(
    parsed: dict[str, tuple[npt.NDArray[Any], npt.NDArray[np.bool_]] | None],
    cal: Calibration,
    n: int,
) -> dict[str, npt.NDArray[Any]]:
    """Complete every optional column with its documented default."""
    out: dict[str, npt.NDArray[Any]] = {}

    def get(name: str, default: npt.NDArray[Any]) -> npt.NDArray[Any]:
        item = parsed.get(name)
        if item is None:
            return default
        values, empty = item
        return np.where(empty, default, values)

    for name in REQUIRED:
        item = parsed[name]
        assert item is not None
        out[name] = item[0]
    above = cal.groups.above_scale
    out["revenue_wan"] = get("revenue_wan", out["value_added_wan"] / above.va_to_revenue.value)
    ef = cal.emission_factor_t_per_tce.value
    out["co2_t"] = get("co2_t", out["energy_tce"] * ef)
    out["rd_wan"] = get("rd_wan", np.zeros(n))
    threshold = cal.reference.revenue_threshold_wan.value
    out["above_scale"] = get("above_scale", out["revenue_wan"] >= threshold).astype(bool)
    for name in ("violation", "two_high"):
        out[name] = get(name, np.zeros(n, bool)).astype(bool)
    out["park"] = get("park", np.full(n, "", dtype=str))
    out["name"] = get("name", out["id"])
    out["class_given"] = np.char.upper(get("class_given", np.full(n, "", dtype=str)).astype(str))
    cx, cy = _centroids(out["district"], cal)
    out["x_km"] = get("x_km", cx)
    out["y_km"] = get("y_km", cy)
    return out


def _centroids(
    district: npt.NDArray[np.str_], cal: Calibration
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    names = pd.Series(district)
    x = np.asarray(names.map({d.name_zh: d.x_km for d in cal.districts}), dtype=np.float64)
    y = np.asarray(names.map({d.name_zh: d.y_km for d in cal.districts}), dtype=np.float64)
    return x, y


def check_magnitudes(columns: Mapping[str, npt.NDArray[Any]], label: str) -> None:
    """Warn (UserWarning) when land, energy or money look like the wrong unit."""
    land = np.asarray(columns["land_mu"], dtype=np.float64)
    if land.size == 0:
        return
    med, big = float(np.median(land)), float(np.max(land))
    if med > LAND_MEDIAN_WARN_MU or big > LAND_MAX_WARN_MU:
        warnings.warn(
            f"{label}: land_mu looks like m² rather than mu (median {med:,.0f}, largest "
            f"{big:,.0f}); 1 mu = 666.67 m², so divide m² by 666.67.",
            UserWarning,
            stacklevel=3,
        )
    va = np.asarray(columns["value_added_wan"], dtype=np.float64)
    energy = np.asarray(columns["energy_tce"], dtype=np.float64)
    pos = va > 0
    if pos.any():
        intensity = float(np.median(energy[pos] / va[pos]))
        if intensity > INTENSITY_WARN_TCE_PER_WAN:
            warnings.warn(
                f"{label}: energy_tce looks like kgce rather than tce (median "
                f"{intensity:,.1f} tce per 万元 value added; typical is 0.05–3); "
                "divide kgce by 1,000.",
                UserWarning,
                stacklevel=3,
            )
        va_mu = float(np.median(va[pos] / land[pos]))
        if va_mu > VA_PER_MU_WARN_WAN:
            warnings.warn(
                f"{label}: value_added_wan looks like 元 rather than 万元 (median "
                f"{va_mu:,.0f} 万元 per mu); divide 元 by 10,000.",
                UserWarning,
                stacklevel=3,
            )


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------


def load_register(
    path: str | Path,
    *,
    districts: Sequence[str] | None = None,
    allow_custom_districts: bool = False,
    sheet: str | int | None = None,
    calibration: Calibration | None = None,
) -> xr.Dataset:
    """Read and validate an enterprise register file.

    Args:
        path: .csv (UTF-8 or GBK), .xlsx, .parquet or .nc (as written by :func:`save_register`).
        districts: allowed district names; default the 13 Hangzhou districts of the
            calibration (accepting "萧山区", "Xiaoshan", ... and storing "萧山").
        allow_custom_districts: accept districts outside the list with a warning.
        sheet: Excel sheet name or 0-based number (default the first sheet holding the
            required columns, else the first sheet).
        calibration: defaults source (emission factor, centroids); default the packaged one.

    Returns:
        The register Dataset over ``enterprise`` (see :data:`COLUMNS`).

    Raises:
        RegisterError: listing every problem found (file, row/line, column).
    """
    cal = calibration or load_calibration()
    p = Path(path)
    raw, src = _read_raw(p, sheet)
    problems = _Problems()
    df = _canonical_headers(raw, src, problems)
    _missing_columns(df, list(raw.columns), src, problems)
    if len(df) == 0 and not problems.items:
        raise RegisterError(f"{p}: the file has a header but no data rows.")
    parsed = {c.name: _parse_column(df, c, src, problems) for c in COLUMNS}
    _validate_codes(parsed, src, cal, districts, allow_custom_districts, problems)
    if problems.items:
        raise RegisterError(
            f"{p}: the register has {sum(problems.counts.values())} problem(s):", problems.all()
        )
    columns = _fill_defaults(parsed, cal, len(df))
    check_magnitudes(columns, str(p))
    return build_register(columns, {"source_file": str(p), "source_format": src.fmt})


def _validate_codes(
    parsed: dict[str, tuple[npt.NDArray[Any], npt.NDArray[np.bool_]] | None],
    src: _Source,
    cal: Calibration,
    districts: Sequence[str] | None,
    allow_custom: bool,
    problems: _Problems,
) -> None:
    """Check ids, sectors, districts and classes; normalise codes in place."""
    if parsed["id"] is not None:
        _check_duplicates(parsed["id"][0], src, problems)
    if parsed["sector"] is not None:
        values, empty = parsed["sector"]
        parsed["sector"] = (_check_sectors(values, src, cal, problems), empty)
    if parsed["district"] is not None:
        values, empty = parsed["district"]
        checked = _check_districts(values, src, cal, districts, allow_custom, problems)
        parsed["district"] = (checked, empty)
    if parsed["class_given"] is not None:
        _check_classes(parsed["class_given"][0], src, problems)


def register_frame(ds: xr.Dataset) -> pd.DataFrame:
    """All ``enterprise`` variables of ``ds`` as a DataFrame, ``id`` first."""
    names = [str(v) for v in ds.data_vars if ds[v].dims == (DIM,)]
    data: dict[str, Any] = {"id": ds[DIM].to_numpy()}
    data.update({v: ds[v].to_numpy() for v in names})
    return pd.DataFrame(data)


def save_register(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a register (or any Dataset over ``enterprise``) atomically.

    The format follows the suffix: ``.csv`` (UTF-8, ``id`` first), ``.parquet``
    or ``.nc`` (netCDF4 via h5netcdf, with all attrs). Returns the path.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    writers: dict[str, Callable[[Path], None]] = {
        ".csv": lambda tmp: register_frame(ds).to_csv(tmp, index=False, encoding="utf-8"),
        ".parquet": lambda tmp: register_frame(ds).to_parquet(tmp, index=False),
        ".nc": lambda tmp: _to_netcdf(ds, tmp),
    }
    if suffix not in writers:
        raise RegisterError(f"{p}: cannot write '{p.suffix}'; use .csv, .parquet or .nc.")
    with atomic_path(p) as tmp:
        writers[suffix](tmp)
    return p


def _to_netcdf(ds: xr.Dataset, tmp: Path) -> None:
    out = ds.copy()
    out.attrs = {
        k: (v if isinstance(v, (str, int, float)) else str(v)) for k, v in ds.attrs.items()
    }
    out.to_netcdf(tmp, engine="h5netcdf")
