// Windows: each subscription window over time (a line per window, resets
// marked), when it fills at the recent rate, and the requests that used
// the most of the current window, with why ("I was at 60% and one message
// took the rest: why?").

import { useState } from "preact/hooks";
import { api } from "../api";
import type { Ctx } from "../app";
import { ChartCanvas, css, verticalLines } from "../charts";
import { clock, modelName, moneyFine, percent, points, shortDate, localDay, tokens, when } from "../format";
import { classLabel, level, projectionText, resetsWithin, windowCaption, windowColor, windowLine } from "../logic";
import { FLAG_REBUILD_IDLE, FLAG_REBUILD_MODEL_SWITCH, type TopRequest, type WindowsReport } from "../types";
import { Empty, Section, useLoad } from "../ui";

export function Windows({ ctx }: { ctx: Ctx }) {
  const report = useLoad(api.windows, [ctx.ledger]);
  return (
    <div class="page">
      <div class="page-head">
        <h1 class="page-title">Windows</h1>
        {ctx.view?.snapshot.windows_as_of && <span class="muted">{ctx.view.snapshot.windows_as_of}</span>}
      </div>
      <Section loaded={report}>{(r) => <Report report={r} ctx={ctx} />}</Section>
    </div>
  );
}

function Report({ report, ctx }: { report: WindowsReport; ctx: Ctx }) {
  const [selected, setSelected] = useState(report.windows[0]?.name ?? "5h");
  if (report.windows.length === 0) {
    return (
      <Empty title="No window reading yet.">
        The 5-hour and weekly windows show once Claude Code sends a request through the gateway with a Claude
        subscription. <button type="button" class="link" onClick={() => ctx.go("claude-code")}>Configure Claude Code</button>
      </Empty>
    );
  }
  const now = Date.now();
  const top = report.top_requests.filter((r) => r.window === selected);
  return (
    <>
      <ul class="window-cards">
        {report.windows.map((w) => {
          const u = w.passed ? null : w.utilization;
          return (
            <li key={w.name} class={`window-card gauge ${level(u, w.rejected && !w.passed)}`} data-window={w.name}>
              <span class="gauge-title"><span class="swatch" style={{ background: windowColor(w.name) }} />{w.title}</span>
              <span class="gauge-value num">{w.passed ? "Reset" : w.rejected ? "Rejected" : percent(u)}</span>
              <span class="meter"><span style={{ width: percent(w.rejected && !w.passed ? 1 : Math.min(1, u ?? 0), 1) }} /></span>
              <span class="gauge-caption">{windowCaption(w, now)}</span>
              <span class="projection" data-testid={`projection-${w.name}`}>{projectionText(w, now)}</span>
            </li>
          );
        })}
      </ul>
      <section class="card" aria-labelledby="over-time">
        <h2 id="over-time">Over time</h2>
        <WindowChart report={report} />
      </section>
      <section class="card" aria-labelledby="top-title">
        <div class="card-head">
          <h2 id="top-title">What used the current window</h2>
          <div class="segmented push" role="group" aria-label="Window">
            {report.windows.map((w) => (
              <button key={w.name} type="button" class={selected === w.name ? "active" : ""} aria-pressed={selected === w.name} onClick={() => setSelected(w.name)}>
                {w.title.replace(/ window$/, "")}
              </button>
            ))}
          </div>
        </div>
        {top.length === 0 ? (
          <p class="muted">No request has moved this window since it last reset.</p>
        ) : (
          <TopTable rows={top} />
        )}
      </section>
    </>
  );
}

function WindowChart({ report }: { report: WindowsReport }) {
  const resets = report.windows.flatMap((w) => resetsWithin(w));
  const first = Math.min(...report.windows.map((w) => w.points[0]?.ts_ms ?? Infinity));
  const now = Date.now();
  const spanDays = (now - first) / 86_400_000;
  // History first: the projection shows for a sixth of the span past now.
  const xMax = now + (now - first) / 6;
  return (
    <ChartCanvas
      name="windows"
      label="Window utilization over time, one line per window"
      deps={[report]}
      height={280}
      config={() => ({
        type: "line",
        data: {
          datasets: [
            ...report.windows.map((w) => ({
              label: w.title,
              data: windowLine(w),
              borderColor: windowColor(w.name),
              backgroundColor: windowColor(w.name),
              borderWidth: 2,
              pointRadius: 0,
              stepped: "before" as const,
              spanGaps: false,
            })),
            ...report.windows
              .filter((w) => w.projection.fills_at_ms !== null && w.points.length > 0 && !w.rejected)
              .map((w) => {
                const last = w.points[w.points.length - 1];
                const end = Math.min(w.projection.fills_at_ms!, w.resets_at_ms ?? Infinity);
                const endY = Math.min(100, last.utilization * 100 + ((end - last.ts_ms) / 3_600_000) * (w.projection.rate_per_hour ?? 0) * 100);
                return {
                  label: `${w.title} projection`,
                  data: [{ x: last.ts_ms, y: Math.round(last.utilization * 1000) / 10 }, { x: end, y: Math.round(endY * 10) / 10 }],
                  borderColor: windowColor(w.name),
                  borderDash: [5, 4],
                  borderWidth: 1.5,
                  pointRadius: 0,
                };
              }),
          ],
        },
        options: {
          maintainAspectRatio: false,
          animation: false,
          parsing: false,
          normalized: true,
          interaction: { mode: "nearest", axis: "x", intersect: false },
          scales: {
            x: {
              type: "linear",
              max: xMax,
              ticks: { maxRotation: 0, autoSkipPadding: 16, callback: (v) => (spanDays > 2 ? shortDate(localDay(Number(v))) : clock(Number(v))) },
              grid: { display: false },
            },
            y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%`, stepSize: 25 }, border: { display: false } },
          },
          plugins: {
            legend: { position: "bottom", labels: { boxWidth: 10, boxHeight: 10, filter: (item) => !item.text.endsWith("projection") } },
            tooltip: { callbacks: { title: (items) => when(items[0].parsed.x ?? 0), label: (c) => `${c.dataset.label}: ${c.parsed.y}%` } },
          },
        },
        plugins: [verticalLines(() => resets, () => css("--muted"))],
      })}
    />
  );
}

export function flagBadges(r: { flags: number; request_class: string | null; agent_type: string | null; compaction: string | null }) {
  const badges: { text: string; title: string; kind: string }[] = [];
  if (r.flags & FLAG_REBUILD_IDLE) badges.push({ text: "Cache rebuild: idle", title: "The session sat idle past the cache lifetime, so its whole context was written to the cache again", kind: "warn" });
  if (r.flags & FLAG_REBUILD_MODEL_SWITCH) badges.push({ text: "Cache rebuild: model switch", title: "The session switched model, and a new model starts with an empty cache", kind: "warn" });
  if (r.request_class === "compaction" || r.compaction) badges.push({ text: r.compaction ? `Compaction (${r.compaction})` : "Compaction", title: "Claude Code summarised the conversation", kind: "info" });
  if (r.request_class === "subagent") badges.push({ text: classLabel("subagent", r.agent_type), title: "A subagent's request", kind: "info" });
  return badges.map((b) => <span key={b.text} class={`badge ${b.kind}`} title={b.title}>{b.text}</span>);
}

function TopTable({ rows }: { rows: TopRequest[] }) {
  return (
    <div class="table-wrap">
      <table data-testid="top-requests">
        <thead>
          <tr><th>Time</th><th class="num">Used</th><th>Model</th><th>Why</th><th class="num">Cache write</th><th class="num">Output</th><th class="num">Cost</th></tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td>{when(r.ts_ms)}</td>
              <td class="num strong">{points(r.delta)}</td>
              <td>{modelName(r.model)}</td>
              <td><div class="badges">{flagBadges(r)}</div></td>
              <td class="num">{tokens(r.cache_write_tokens)}</td>
              <td class="num">{tokens(r.output_tokens)}</td>
              <td class="num">{moneyFine(r.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
