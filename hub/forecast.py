"""Quarterly forecasts of demand and supply and their rolling-origin backtest (issue 16), fitted by the
statistics refresh (``hub.forecast_refresh``), never per request.

The model is statsforecast's ``AutoETS`` (exponential smoothing in state-space form, parameters fitted by maximum
likelihood in compiled code, analytic prediction intervals) in the form ETS(A,N,A) with a season of 4 quarters
(``MODEL``, which says why this form). A series it cannot fit falls back to the seasonal-naive forecast with its
empirical intervals (``StatsForecast(fallback_model=...)``). statsforecast fits many series in one call, so the
refresh fits thousands of series in seconds; nothing here is hand-written beyond arranging the series and the
MASE arithmetic (a few lines: no library computes the rolling-origin MASE of many series at once).

Accuracy: for every series long enough (``MIN_TRAIN`` quarters before the first origin), for every origin T from
``MIN_TRAIN`` to n-1 the model is fitted on the first T quarters and forecasts up to ``HORIZON`` quarters that
have data; the seasonal-naive forecast of quarter T+h is the value of the same quarter in the last year before T.
Errors are scaled by the in-sample mean absolute seasonal difference of the first T quarters (MASE, Hyndman and
Koehler 2006); an origin whose scale is 0 is skipped. A series' MASE is the mean of its scaled errors; the
overall MASE is the mean over series.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Hashable, Mapping, Sequence

import numpy as np

SEASON = 4
HORIZON = 4
LEVELS = (80, 95)
MIN_TRAIN = 12  # quarters before the first backtest origin: three full seasons
MIN_QUARTERS_WITH_DEMAND = 8  # a district's series is forecast when at least this many quarters had demand
# ETS(A,N,A): additive errors, a level and an additive season of 4 quarters, no trend term. Measured on the large
# demo data (889 occupation series, 2154 occupation x district series): AutoETS choosing every form (ZZZ) did not
# finish the 889 city-wide series in 2 minutes; ETS(A,Ad,A) (damped trend) took 4x the time of ETS(A,N,A) for an
# overall demand MASE of 1.30 against 1.33 (seasonal-naive 1.49), which would double the refresh; so ETS(A,N,A).
MODEL = {"model": "ANA"}


@dataclass(frozen=True)
class Forecast:
    """One series' forecast: ``point[h]`` and its intervals for the quarters 1..horizon after the data."""

    point: np.ndarray
    lo: dict[int, np.ndarray]
    hi: dict[int, np.ndarray]


@dataclass(frozen=True)
class Accuracy:
    """Rolling-origin backtest of one series: MASE of the model and of the seasonal-naive forecast."""

    mase: float
    mase_naive: float
    origins: int
    points: int


def _fit(series: Mapping[Hashable, np.ndarray], horizon: int, levels: Sequence[int] = ()) -> dict[Hashable, Forecast]:
    """Fit every series (each a 1-d array of equally spaced quarters, the same last quarter or not) and forecast
    ``horizon`` quarters after its end."""
    if not series:
        return {}
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    keys = list(series)
    ids = np.repeat(np.arange(len(keys)), [len(series[k]) for k in keys])
    ds = np.concatenate([np.arange(len(series[k])) for k in keys])
    y = np.concatenate([np.asarray(series[k], dtype=float) for k in keys])
    frame = pd.DataFrame({"unique_id": ids, "ds": ds, "y": y})
    sf = StatsForecast(models=[AutoETS(season_length=SEASON, **MODEL)], freq=1, n_jobs=1,
                       fallback_model=SeasonalNaive(season_length=SEASON))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sf.forecast(df=frame, h=horizon, level=list(levels) or None)
    out = out.sort_values(["unique_id", "ds"])
    uid = out["unique_id"].to_numpy()
    result: dict[Hashable, Forecast] = {}
    columns = {lv: (out[f"AutoETS-lo-{lv}"].to_numpy(), out[f"AutoETS-hi-{lv}"].to_numpy()) for lv in levels}
    point = out["AutoETS"].to_numpy()
    starts = np.searchsorted(uid, np.arange(len(keys)))
    for i, key in enumerate(keys):
        sl = slice(starts[i], starts[i] + horizon)
        # counts are never negative: the point and the intervals are cut at 0
        result[key] = Forecast(np.maximum(point[sl], 0.0),
                               {lv: np.maximum(columns[lv][0][sl], 0.0) for lv in levels},
                               {lv: np.maximum(columns[lv][1][sl], 0.0) for lv in levels})
    return result


def forecast(series: Mapping[Hashable, np.ndarray], horizon: int = HORIZON) -> dict[Hashable, Forecast]:
    """Forecasts with 80 % and 95 % prediction intervals."""
    return _fit(series, horizon, LEVELS)


def backtest(series: Mapping[Hashable, np.ndarray]) -> dict[Hashable, Accuracy]:
    """Rolling-origin MASE of the model and of seasonal-naive, for every series with at least MIN_TRAIN + 1
    quarters (all origins of all series are fitted in one call per origin)."""
    long = {k: np.asarray(v, dtype=float) for k, v in series.items() if len(v) > MIN_TRAIN}
    model_err: dict[Hashable, list[float]] = {k: [] for k in long}
    naive_err: dict[Hashable, list[float]] = {k: [] for k in long}
    origins: dict[Hashable, int] = dict.fromkeys(long, 0)
    longest = max((len(v) for v in long.values()), default=0)
    for t in range(MIN_TRAIN, longest):
        cut, scales = {}, {}
        for k, y in long.items():
            if t < len(y):
                scale = float(np.mean(np.abs(y[SEASON:t] - y[:t - SEASON])))
                if scale > 0:
                    cut[k], scales[k] = y[:t], scale
        fitted = _fit(cut, HORIZON)
        for k, f in fitted.items():
            y = long[k]
            steps = min(HORIZON, len(y) - t)
            actual = y[t:t + steps]
            naive = np.array([y[t - SEASON + (h % SEASON)] for h in range(steps)])
            model_err[k].extend(np.abs(actual - f.point[:steps]) / scales[k])
            naive_err[k].extend(np.abs(actual - naive) / scales[k])
            origins[k] += 1
    return {k: Accuracy(float(np.mean(model_err[k])), float(np.mean(naive_err[k])), origins[k], len(model_err[k]))
            for k in long if model_err[k]}


def overall(accuracy: Mapping[Hashable, Accuracy]) -> Accuracy | None:
    """The mean MASE over series (None when no series could be backtested)."""
    if not accuracy:
        return None
    values = list(accuracy.values())
    return Accuracy(float(np.mean([a.mase for a in values])), float(np.mean([a.mase_naive for a in values])),
                    sum(a.origins for a in values), sum(a.points for a in values))
