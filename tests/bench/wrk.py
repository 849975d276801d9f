"""Running wrk: a generated Lua script POSTs fixed bodies (round robin) with the Authorization header,
checks every response (HTTP 200 and no ``"errors"`` in the body) and prints one JSON line with requests,
latency percentiles and the checks. (wrk always runs for its whole ``-d``: a thread stopping itself
does not end the run early, so runs are bounded by time, not by a request count.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MARKER = "BENCH_JSON "

_TEMPLATE = r"""
local bodies = { %(bodies)s }
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" %(auth)s }
local reqs = {}
local i = 0
count = 0
bad_status = 0
bad_errors = 0

function init(args)
  for k, b in ipairs(bodies) do reqs[k] = wrk.format("POST", "%(path)s", headers, b) end
end

function request()
  i = i %% #reqs + 1
  return reqs[i]
end

function response(status, hdrs, body)
  count = count + 1
  if status ~= 200 then
    bad_status = bad_status + 1
  elseif string.find(body, '"errors"', 1, true) then
    bad_errors = bad_errors + 1
  end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local checked, bs, be = 0, 0, 0
  for _, t in ipairs(threads) do
    checked = checked + t:get("count")
    bs = bs + t:get("bad_status")
    be = be + t:get("bad_errors")
  end
  local e = summary.errors
  io.write(string.format('%(marker)s{"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect_errors":%%d,' ..
    '"read_errors":%%d,"write_errors":%%d,"status_errors":%%d,"timeouts":%%d,"p50_us":%%d,"p90_us":%%d,' ..
    '"p99_us":%%d,"mean_us":%%.1f,"max_us":%%d,"checked":%%d,"bad_status":%%d,"bad_errors":%%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    checked, bs, be))
end
"""


def _lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def script(bodies: list[bytes], token: str | None, path: str = "/graphql") -> str:
    auth = f', ["Authorization"] = "Bearer {token}"' if token else ""
    return _TEMPLATE % {"bodies": ", ".join(_lua_string(b.decode()) for b in bodies), "auth": auth,
                        "path": path, "marker": MARKER}


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    socket_errors: int
    bad_status: int
    bad_errors: int
    checked: int
    bytes: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    return found


def run(url: str, bodies: list[bytes], token: str | None, duration_s: float, connections: int = 16,
        threads: int = 2, timeout_s: float = 10.0) -> WrkResult:
    """Run wrk against ``url`` (http://host:port) for ``duration_s`` (whole seconds, at least 1)."""
    wrk = ensure_wrk()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script(bodies, token))
        lua = f.name
    try:
        cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s",
               f"--timeout={timeout_s:g}s", "-s", lua, url + "/graphql"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 120)
    finally:
        Path(lua).unlink(missing_ok=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    d = json.loads(line[len(MARKER):])
    duration = d["duration_us"] / 1e6
    return WrkResult(
        requests=d["requests"], duration_s=duration, rps=d["requests"] / duration if duration else 0.0,
        p50_ms=d["p50_us"] / 1000, p90_ms=d["p90_us"] / 1000, p99_ms=d["p99_us"] / 1000,
        mean_ms=d["mean_us"] / 1000, max_ms=d["max_us"] / 1000,
        socket_errors=d["connect_errors"] + d["read_errors"] + d["write_errors"] + d["timeouts"],
        bad_status=d["bad_status"], bad_errors=d["bad_errors"], checked=d["checked"], bytes=d["bytes"])
