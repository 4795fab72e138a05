"""Plots resolved by DVC itself: per definition and revision, the series DVC draws, or the image it shows.

The input is what `mlci.repo.revision` read at each revision (DVC's `plots.show` result: definitions and
data sources). DVC's own code turns it into data points, exactly as `dvc plots diff --json` does
(`dvc.render.match.match_defs_renderers`): definitions grouped by plot id, properties squashed, data files
inferred from `x`/`y`, and `VegaConverter.flat_datapoints` joining x and y per (file, y field). mlci only
keeps the result, one `Series` per (file, y field), and never reads dvc.yaml itself. DVC's vega
templates are not loaded: mlci draws nothing with them, so a custom template cannot fail the report.

Errors stay per plot and revision, as DVC reports them: a data file DVC could not read at a revision
(missing, malformed, not a plot format, not UTF-8) and a definition its converter rejects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Side = Literal["base", "head"]
SIDES: tuple[Side, Side] = ("base", "head")
INDEX_FIELD = "step"  # DVC's x when a definition names none: the row index


@dataclass(frozen=True)
class PlotError:
    """One error DVC reported for a plot at a revision; `source` is the data file ("" = the definition)."""

    source: str
    type: str
    message: str


@dataclass(frozen=True)
class Series:
    """One line of a plot at one revision: the y field of one file against the x field, DVC's values as
    read (numbers from JSON/YAML, strings from CSV/TSV)."""

    file: str
    x_field: str
    y_field: str
    x: list[Any]
    y: list[Any]


@dataclass(frozen=True)
class Image:
    file: str
    size: int
    md5: str


@dataclass(frozen=True)
class PlotRevision:
    """A plot at one revision: its series (vega plots) or its image, and DVC's errors."""

    series: list[Series] = field(default_factory=list)
    image: Image | None = None
    errors: list[PlotError] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(len(s.x) for s in self.series)


@dataclass(frozen=True)
class ResolvedPlot:
    """One plot id; `base`/`head` is None where the plot is not declared at that revision."""

    id: str
    kind: Literal["vega", "image"]
    template: str
    title: str
    x_label: str
    y_label: str
    base: PlotRevision | None
    head: PlotRevision | None

    @property
    def changed(self) -> bool:
        """The resolved data differs (series or image content); errors alone change nothing."""
        old, new = self.base or PlotRevision(), self.head or PlotRevision()
        return (old.series, old.image) != (new.series, new.image)


@dataclass(frozen=True)
class ResolvedPlots:
    plots: list[ResolvedPlot] = field(default_factory=list)
    errors: list[tuple[Side, PlotError]] = field(default_factory=list)  # dvc.yaml's plots unreadable


def resolve_plots(base: Mapping[str, Any], head: Mapping[str, Any]) -> ResolvedPlots:
    """Every plot declared at either revision, from DVC's `plots.show` result of each revision."""
    from dvc.render.match import PlotsData, _squash_plots_properties
    from dvc.repo.plots import infer_data_sources
    from dvc_render import ImageRenderer

    data: dict[str, Mapping[str, Any]] = {
        s: shown for s, shown in zip(SIDES, (base, head), strict=True) if shown
    }
    plots_data = PlotsData(data)
    errors: list[tuple[Side, PlotError]] = []
    for side, shown in zip(SIDES, (base, head), strict=True):
        error = (shown.get("definitions") or {}).get("error") if shown else None
        if error is not None:
            errors.append((side, _error("dvc.yaml", error)))
    plots: list[ResolvedPlot] = []
    seen: set[tuple[str, str]] = set()
    for plot_id, group in plots_data.group_definitions().items():
        props = _squash_plots_properties(group)
        sides: dict[str, PlotRevision] = {}
        labels: dict[str, str] = {}
        is_image = False
        for side, inner_id, definition in group:
            sources = infer_data_sources(inner_id, definition)
            seen.update((side, src) for src in sources)
            files = plots_data.get_definition_data(sources, side)
            plot_errors = [_error(src, err) for src in sources if (err := _source_error(data, side, src))]
            if ImageRenderer.matches(inner_id, None):
                is_image = True
                sides[side] = PlotRevision(image=_image(inner_id, files.get(inner_id)), errors=plot_errors)
                continue
            series, found = _series(inner_id, files, props, side)
            if isinstance(series, Exception):
                sides[side] = PlotRevision(errors=[*plot_errors, _error("", series)])
                continue
            labels = labels or found
            sides[side] = PlotRevision(series=series, errors=plot_errors)
        plots.append(
            ResolvedPlot(
                id=plot_id,
                kind="image" if is_image else "vega",
                template=str(props.get("template") or ("" if is_image else "linear")),
                title=str(props.get("title") or plot_id),
                x_label=labels.get("x_label", ""),
                y_label=labels.get("y_label", ""),
                base=sides.get("base"),
                head=sides.get("head"),
            )
        )
    return ResolvedPlots(plots, errors + _unplaced_errors(data, seen))


def _unplaced_errors(
    data: Mapping[str, Mapping[str, Any]], seen: set[tuple[str, str]]
) -> list[tuple[Side, PlotError]]:
    """Errors DVC reported for plot data no plot was drawn from: a DVC-tracked folder of images that
    could not be loaded (its files unknown, so no plot has them; DVC reports it on the dvc.yaml that
    declares it), or a source no plot reads. DVC warns; the report names them."""
    found: list[tuple[Side, PlotError]] = []
    for side in SIDES:
        files = (data.get(side) or {}).get("definitions", {}).get("data", {})
        for file, entry in files.items() if isinstance(files, Mapping) else ():
            error = entry.get("error") if isinstance(entry, Mapping) else None
            if isinstance(error, BaseException):  # e.g. "failed to load directory ('images',)"
                found.append((side, _error(str(file), error)))
        sources = (data.get(side) or {}).get("sources", {}).get("data", {})
        for source in sources if isinstance(sources, Mapping) else ():
            error = _source_error(data, side, source)
            if error is not None and (side, source) not in seen:
                found.append((side, _error(source, error)))
    return found


def image_content(shown: Mapping[str, Any], file: str) -> bytes | None:
    """The bytes DVC read for an image plot at one revision (its `plots.show` result), if any."""
    entry = (shown.get("sources") or {}).get("data", {}).get(file)
    content = entry.get("data") if isinstance(entry, Mapping) else None
    return content if isinstance(content, bytes) else None


def _series(
    plot_id: str, files: Mapping[str, Any], props: Mapping[str, Any], side: str
) -> tuple[list[Series] | Exception, dict[str, str]]:
    """DVC's flat data points of one definition at one revision, split per (file, y field)."""
    from dvc.render.converter.vega import VegaConverter, _get_xs, _get_ys

    converter = VegaConverter(plot_id, dict(files), dict(props))
    try:
        file_points, properties = converter.convert()
        # flat_datapoints converts again: hand it this result (it only reads it) instead of redoing it
        converter.convert = lambda: (file_points, properties)  # type: ignore[method-assign]
        points, rev_props = converter.flat_datapoints(side)
    except Exception as exc:  # DVC reports any converter error for the revision, so do we
        return exc, {}
    labels = {
        "x_label": str(properties.get("x_label") or ""),
        "y_label": str(properties.get("y_label") or ""),
    }
    if not points:
        return [], labels
    xs = list(_get_xs(properties, file_points))
    ys = list(_get_ys(properties, file_points))
    x_key, y_key = rev_props["x"], rev_props["y"]
    series: list[Series] = []
    start = 0
    # flat_datapoints emits the points of each (file, y field) in turn, one per row of that file
    for i, (y_file, y_field) in enumerate(ys):
        count = len(file_points.get(y_file, []))
        chunk = points[start : start + count]
        start += count
        if not chunk:
            continue
        x_field = xs[i][1] if len(xs) > 1 else xs[0][1] if xs else INDEX_FIELD
        series.append(
            Series(
                file=str(y_file),
                x_field=str(x_field),
                y_field=str(y_field),
                x=[p.get(x_key) for p in chunk],
                y=[p.get(y_key) for p in chunk],
            )
        )
    return series, labels


def _image(file: str, content: Any) -> Image | None:
    if not isinstance(content, bytes):
        return None
    return Image(file=file, size=len(content), md5=hashlib.md5(content, usedforsecurity=False).hexdigest())


def _source_error(data: Mapping[str, Any], side: str, source: str) -> BaseException | None:
    entry = data.get(side, {}).get("sources", {}).get("data", {}).get(source, {})
    error = entry.get("error") if isinstance(entry, Mapping) else None
    return error if isinstance(error, BaseException) else None


def _error(source: str, error: BaseException) -> PlotError:
    return PlotError(source=source, type=type(error).__name__, message=str(error))
