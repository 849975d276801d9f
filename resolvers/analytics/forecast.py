"""Quarterly forecasts of demand and supply and their rolling-origin backtest (issue 16), fitted by the
statistics refresh (``resolvers.analytics.forecast_refresh``), never per request.

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
from typing import Any, Hashable, Mapping, Sequence

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


def _frame(series: Mapping[Hashable, np.ndarray]) -> Any:
    # deferred import: start-up time (pandas, statsforecast, scipy: ~0.4 s each, only when forecasts are fitted)
    import pandas as pd

    keys = list(series)
    ids = np.repeat(np.arange(len(keys)), [len(series[k]) for k in keys])
    ds = np.concatenate([np.arange(len(series[k])) for k in keys])
    y = np.concatenate([np.asarray(series[k], dtype=float) for k in keys])
    return pd.DataFrame({"unique_id": ids, "ds": ds, "y": y})


def _model() -> Any:
    # deferred import: start-up time (pandas, statsforecast, scipy: ~0.4 s each, only when forecasts are fitted)
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    return StatsForecast(models=[AutoETS(season_length=SEASON, **MODEL)], freq=1, n_jobs=1,
                         fallback_model=SeasonalNaive(season_length=SEASON))


def _by_series(out: Any, n: int, horizon: int, columns: Sequence[str]) -> list[dict[str, np.ndarray]]:
    """Per series (in id order) each column's ``horizon`` values."""
    out = out.sort_values(["unique_id", "ds"])
    starts = np.searchsorted(out["unique_id"].to_numpy(), np.arange(n))
    values = {c: out[c].to_numpy() for c in columns}
    return [{c: v[s:s + horizon] for c, v in values.items()} for s in starts]


def _class1_sd(fitted: Any, horizon: int) -> np.ndarray | None:
    """The forecast standard deviations of an additive-error ETS without trend (ETS(A,N,A) or, when statsforecast
    dropped a degenerate season, ETS(A,N,N)): v_h = σ² [1 + α² (h-1) + γ k (2α + γ)], k = floor((h-1)/m)
    (Hyndman et al. 2008, table 6.1, class 1) — what statsforecast computes itself, series by series through scipy
    distribution objects, which doubled the refresh's fitting time; tests/statistics/test_forecasts.py checks it
    against the library's intervals. None for any other model (the fallback): the library computes those."""
    model = getattr(fitted, "model_", None)
    if model is None or "components" not in model or model["components"][:3] not in ("ANA", "ANN"):
        return None
    par, sigma2 = model["par"], float(model["sigma2"])
    alpha = float(par[0])
    gamma = 0.0 if model["components"][2] == "N" or np.isnan(par[2]) else float(par[2])
    h = np.arange(1, horizon + 1)
    k = (h - 1) // SEASON
    return np.sqrt(sigma2 * (1 + alpha ** 2 * (h - 1) + gamma * k * (2 * alpha + gamma)))


def _fit(series: Mapping[Hashable, np.ndarray], horizon: int, levels: Sequence[int] = ()) -> dict[Hashable, Forecast]:
    """Fit every series (each a 1-d array of equally spaced quarters, the same last quarter or not) and forecast
    ``horizon`` quarters after its end, with the ``levels`` % prediction intervals."""
    if not series:
        return {}
    from scipy.stats import norm  # deferred import: start-up time (as pandas above)

    keys = list(series)
    frame = _frame(series)
    sf = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf.fit(df=frame)
        points = _by_series(sf.predict(h=horizon), len(keys), horizon, ["AutoETS"])
    z = {lv: float(norm.ppf(0.5 + lv / 200)) for lv in levels}
    result: dict[Hashable, Forecast] = {}
    library: list[int] = []  # series whose intervals the library computes (fallback models)
    for i, key in enumerate(keys):
        point = points[i]["AutoETS"]
        sd = _class1_sd(sf.fitted_[i, 0], horizon) if levels else np.zeros(horizon)
        if sd is None:
            library.append(i)
            continue
        result[key] = _cut(point, {lv: point - z[lv] * sd for lv in levels}, {lv: point + z[lv] * sd for lv in levels})
    if library:
        sub = {keys[i]: series[keys[i]] for i in library}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = _model().forecast(df=_frame(sub), h=horizon, level=list(levels))
        columns = [f"AutoETS-{side}-{lv}" for lv in levels for side in ("lo", "hi")]
        for key, v in zip(sub, _by_series(out, len(sub), horizon, ["AutoETS", *columns])):
            result[key] = _cut(v["AutoETS"], {lv: v[f"AutoETS-lo-{lv}"] for lv in levels},
                               {lv: v[f"AutoETS-hi-{lv}"] for lv in levels})
    return {key: result[key] for key in keys}


def _cut(point: np.ndarray, lo: dict[int, np.ndarray], hi: dict[int, np.ndarray]) -> Forecast:
    """Counts are never negative: the point and the intervals are cut at 0."""
    return Forecast(np.maximum(point, 0.0), {lv: np.maximum(v, 0.0) for lv, v in lo.items()},
                    {lv: np.maximum(v, 0.0) for lv, v in hi.items()})


def forecast(series: Mapping[Hashable, np.ndarray], horizon: int = HORIZON) -> dict[Hashable, Forecast]:
    """Forecasts with 80 % and 95 % prediction intervals."""
    return _fit(series, horizon, LEVELS)


def point_forecast(series: Mapping[Hashable, np.ndarray], horizon: int = HORIZON) -> dict[Hashable, np.ndarray]:
    """Point forecasts only (no intervals: half the cost)."""
    return {k: f.point for k, f in _fit(series, horizon).items()}


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
