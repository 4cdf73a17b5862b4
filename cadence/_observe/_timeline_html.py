"""The HTML of a run timeline: markup built in Python, inline CSS, a few lines of inline script.

Everything is rendered server-side, so the page shows every note even with scripts off; the
script only adds the hover card. Nothing is loaded from the network.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cadence.timeline import Bar

__all__ = ["render_html"]

LANE_PX = 30

_CSS = """
:root { --lane: %(lane)dpx; font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
body { margin: 24px 32px; color: #1f2933; background: #fbfcfd; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #52606d; font-size: 13px; margin-bottom: 14px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; color: #fff; }
.badge.ok { background: #2f9e66; } .badge.failed { background: #d64545; } .badge.running { background: #8792a2; }
.badge.waiting { background: #b7791f; } .badge.cancelled { background: #7b8794; }
.legend { font-size: 12px; color: #52606d; margin-bottom: 10px; display: flex; gap: 14px; flex-wrap: wrap; }
.legend i { display: inline-block; width: 14px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: middle; }
.chart { position: relative; border: 1px solid #d9e2ec; border-radius: 6px; background: #fff; padding: 0 12px 8px; }
.axis { position: relative; height: 26px; border-bottom: 1px solid #d9e2ec; margin-bottom: 6px; }
.tick { position: absolute; top: 0; bottom: 0; border-left: 1px solid #d9e2ec; }
.tick span { position: absolute; top: 6px; left: 3px; font-size: 11px; color: #7b8794; white-space: nowrap; }
.lanes { position: relative; }
.grid { position: absolute; top: 0; bottom: 0; border-left: 1px dashed #eef2f6; }
.bar { position: absolute; height: calc(var(--lane) - 8px); border-radius: 4px; box-sizing: border-box;
       min-width: 3px; overflow: visible; cursor: default; border: 1px solid rgba(0,0,0,.15); }
.bar .label { position: absolute; left: 6px; top: 50%%; transform: translateY(-50%%); font-size: 12px;
              white-space: nowrap; color: #102a43; pointer-events: none; }
.bar:hover, .bar:focus, .bar.picked { outline: 2px solid #334e68; outline-offset: 1px; z-index: 2; }
.k-step { background: #9fc5f0; } .k-task { background: #a7e3d4; } .k-sync { background: #c9b8f0; }
.k-split { background: #f7d59c; } .k-child { background: #bfe3a5; } .k-map { background: #f3b7d9; }
.k-wait { background: #f7dcdc; }
.s-waiting { background: repeating-linear-gradient(90deg, #f7dcdc 0 8px, #fff 8px 12px) !important;
             border-style: dashed; }
.s-failed { background: #f29b9b !important; border-color: #c53030; }
.s-failed .label::before { content: "\\2717 "; color: #c53030; font-weight: 700; }
.s-cancelled { background: repeating-linear-gradient(135deg, #e4e7eb 0 6px, #cbd2d9 6px 12px) !important; }
.retry { position: absolute; top: -5px; width: 9px; height: 9px; margin-left: -5px; background: #f08c00;
         transform: rotate(45deg); border: 1px solid #fff; z-index: 3; }
table { border-collapse: collapse; margin-top: 18px; font-size: 12px; }
th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid #eef2f6; }
th { color: #52606d; font-weight: 600; } .num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.failed { color: #c53030; font-weight: 600; } td.cancelled { color: #7b8794; }
#tip { position: fixed; z-index: 10; max-width: 420px; background: #102a43; color: #f0f4f8; font-size: 12px;
       padding: 8px 10px; border-radius: 6px; white-space: pre-line; pointer-events: none;
       box-shadow: 0 4px 12px rgba(0,0,0,.25); }
#tip b { display: block; margin-bottom: 3px; font-size: 13px; }
"""

_SCRIPT = """
(function () {
  var tip = document.getElementById("tip");
  function show(el, x, y) {
    tip.textContent = "";
    var head = document.createElement("b");
    head.textContent = el.getAttribute("data-title");
    tip.appendChild(head);
    tip.appendChild(document.createTextNode(el.getAttribute("data-detail") || ""));
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(4, Math.min(x + 14, window.innerWidth - w - 8)) + "px";
    tip.style.top = Math.max(4, Math.min(y + 14, window.innerHeight - h - 8)) + "px";
  }
  function target(ev) {
    var el = ev.target;
    while (el && el !== document.body) {
      if (el.hasAttribute && el.hasAttribute("data-title")) { return el; }
      el = el.parentNode;
    }
    return null;
  }
  document.addEventListener("mousemove", function (ev) {
    var el = target(ev);
    if (el) { show(el, ev.clientX, ev.clientY); } else { tip.hidden = true; }
  });
  document.addEventListener("focusin", function (ev) {
    var el = target(ev);
    if (el) { var r = el.getBoundingClientRect(); show(el, r.left, r.bottom); }
  });
  document.addEventListener("focusout", function () { tip.hidden = true; });
  // "#note=NAME" in the address opens that note's card (for links and screenshots).
  var m = /^#note=(.+)$/.exec(window.location.hash);
  if (m) {
    var want = decodeURIComponent(m[1]);
    var bars = document.querySelectorAll(".bar");
    for (var i = 0; i < bars.length; i++) {
      if (bars[i].getAttribute("data-note") === want) {
        var r = bars[i].getBoundingClientRect();
        bars[i].classList.add("picked");
        show(bars[i], r.left + 10, r.bottom - 6);
        break;
      }
    }
  }
})();
"""


def _fmt(seconds: float, unit: str) -> str:
    if unit == "ms":
        value = seconds * 1000
        return f"{value:.3f} ms" if value < 1 else f"{value:.1f} ms"
    return f"{seconds:.2f} s"


def _tick(seconds: float, unit: str) -> str:
    value = seconds * 1000 if unit == "ms" else seconds
    return f"{value:g} {unit}"


def _step(total: float) -> float:
    raw = total / 8 if total > 0 else 1e-3
    power = 10.0 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * power:
            return float(mult * power)
    return float(10 * power)  # pragma: no cover


def _pct(value: float, total: float) -> str:
    return f"{(value / total * 100 if total > 0 else 0.0):.4f}%"


def spend_text(spend: dict[str, Any] | None) -> str:
    """A budget's spend (or one note's charges) in a few words; "" when there is none."""
    if not spend:
        return ""
    parts = []
    if spend.get("requests"):
        parts.append(f"{spend['requests']:g} requests")
    if spend.get("input_tokens") or spend.get("output_tokens"):
        parts.append(
            f"{spend.get('input_tokens', 0):g} in / {spend.get('output_tokens', 0):g} out tokens"
        )
    if spend.get("tool_calls"):
        parts.append(f"{spend['tool_calls']:g} tool calls")
    if spend.get("cost"):
        parts.append(f"cost {spend['cost']:.6g}")
    return ", ".join(parts)


def _detail(bar: Bar, unit: str) -> str:
    lines = [f"cadence: {bar.cadence}"]
    if bar.group:
        where = f"group: {bar.group}"
        lines.append(where + (f" (task #{bar.task_index})" if bar.task_index is not None else ""))
    lines.append(f"kind: {bar.kind}")
    lines.append(f"start: +{_fmt(bar.start, unit)}")
    lines.append(f"duration: {_fmt((bar.end or bar.start) - bar.start, unit)}")
    lines.append(f"status: {bar.status}")
    if bar.error:
        lines.append(f"error: {bar.error}")
    if bar.spend:
        lines.append(f"spend: {spend_text(bar.spend)}")
    for r in bar.retries:
        lines.append(
            f"retry after attempt {r['attempt']}/{r['max_attempts']} at +{_fmt(r['t'], unit)}: {r['error']}"
        )
    return "\n".join(lines)


def render_html(bars: list[Bar], info: dict[str, Any], *, title: str | None = None) -> str:
    """The complete HTML document for ``bars`` of one run."""
    total = info["total"] or 1e-6
    unit = "ms" if total < 10 else "s"
    lanes = max((b.lane for b in bars), default=0) + 1
    name = info.get("cadence") or "run"
    heading = title or f"{name} — run timeline"
    status = info.get("status", "running")
    failures = sum(b.status == "failed" for b in bars)
    retries = sum(len(b.retries) for b in bars)
    duration = info.get("duration")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading)}</title>",
        f"<style>{_CSS % {'lane': LANE_PX}}</style></head><body>",
        f"<h1>{escape(heading)}</h1>",
        '<div class="meta">'
        f'<span class="badge {escape(status)}">{ {"ok": "completed", "waiting": "parked at a wait"}.get(status, status) }</span> '
        f"{_fmt(duration if duration is not None else total, unit)} · {len(bars)} notes · "
        f"{failures} failed · {retries} {'retry' if retries == 1 else 'retries'}"
        + (f" · spend: {escape(spend_text(info['spend']))}" if info.get("spend") else "")
        + (f" · {escape(info['error'])}" if info.get("error") else "")
        + "</div>",
        '<div class="legend"><span><i class="k-step"></i>step</span><span><i class="k-sync"></i>sync group</span>'
        '<span><i class="k-split"></i>split</span><span><i class="k-child"></i>child cadence</span>'
        '<span><i class="k-map"></i>map</span><span><i class="k-wait"></i>wait</span>'
        '<span><i class="s-waiting"></i>parked</span>'
        '<span><i class="k-task"></i>group task</span><span><i class="s-failed"></i>failed</span>'
        '<span><i class="s-cancelled"></i>cancelled</span>'
        '<span><i class="retry" style="position:static;display:inline-block;margin:0 6px 0 2px"></i>retry</span></div>',
        '<div class="chart"><div class="axis">',
    ]
    step = _step(total)
    ticks = [i * step for i in range(int(total / step) + 1)]
    out += [
        f'<div class="tick" style="left:{_pct(t, total)}"><span>{_tick(t, unit)}</span></div>'
        for t in ticks
    ]
    out.append(f'</div><div class="lanes" style="height:{lanes * LANE_PX}px">')
    out += [f'<div class="grid" style="left:{_pct(t, total)}"></div>' for t in ticks]
    for bar in sorted(bars, key=lambda b: (b.lane, b.start)):
        width = (bar.end or bar.start) - bar.start
        style = f"left:{_pct(bar.start, total)};width:{_pct(width, total)};top:{bar.lane * LANE_PX + 4}px"
        out.append(
            f'<div class="bar k-{escape(bar.kind)} s-{escape(bar.status)}" tabindex="0" style="{style}" '
            f'data-note="{escape(bar.name)}" data-title="{escape(bar.name)}" '
            f'data-detail="{escape(_detail(bar, unit))}"><span class="label">{escape(bar.name)}</span>'
        )
        for r in bar.retries:
            where = _pct(r["t"] - bar.start, width) if width > 0 else "0%"
            text = f"attempt {r['attempt']}/{r['max_attempts']} failed: {r['error']}"
            out.append(
                f'<i class="retry" style="left:{where}" data-title="retry: {escape(bar.name)}" '
                f'data-detail="{escape(text)}"></i>'
            )
        out.append("</div>")
    out.append("</div></div>")
    out.append(
        "<table><thead><tr><th>note</th><th>cadence</th><th>group</th><th>kind</th>"
        '<th class="num">start</th><th class="num">duration</th><th>status</th><th>retries</th>'
        "<th>error</th></tr></thead><tbody>"
    )
    for bar in sorted(bars, key=lambda b: b.start):
        out.append(
            f"<tr><td>{escape(bar.name)}</td><td>{escape(bar.cadence)}</td><td>{escape(bar.group or '')}</td>"
            f'<td>{escape(bar.kind)}</td><td class="num">+{_fmt(bar.start, unit)}</td>'
            f'<td class="num">{_fmt((bar.end or bar.start) - bar.start, unit)}</td>'
            f'<td class="{escape(bar.status)}">{escape(bar.status)}</td><td>{len(bar.retries) or ""}</td>'
            f"<td>{escape(bar.error or '')}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append('<div id="tip" role="tooltip" hidden></div>')
    out.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(out) + "\n"
