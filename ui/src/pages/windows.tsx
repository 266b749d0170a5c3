// Windows: each subscription window over time (a line per window, resets
// marked), when it fills at the recent rate, and the requests that used
// the most of the current window, with why ("I was at 60% and one message
// took the rest: why?").

import { useState } from "preact/hooks";
import { api } from "../api";
import type { Ctx } from "../app";
import { ChartCanvas, verticalLines } from "../charts";
import { clock, localDay, modelName, moneyFine, percent, points, shortDate, stamp, tokens, when } from "../format";
import { classLabel, projectionText, resetsWithin, windowColor, windowLine } from "../logic";
import type { RequestRow, WindowRequest, WindowsReport } from "../types";
import { Gauge } from "./overview";
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
  const [selected, setSelected] = useState(report.windows[0]?.now.name ?? "5h");
  if (report.windows.length === 0) {
    return (
      <Empty title="No window reading yet.">
        The 5-hour and weekly windows show once Claude Code sends a request through the gateway with a Claude
        subscription. <button type="button" class="link" onClick={() => ctx.go("claude-code")}>Configure Claude Code</button>
      </Empty>
    );
  }
  const now = Date.now();
  const current = report.windows.find((w) => w.now.name === selected) ?? report.windows[0];
  return (
    <>
      <ul class="window-cards">
        {report.windows.map((w) => (
          <Gauge key={w.now.name} w={w.now} now={now}>
            <span class="projection" data-testid={`projection-${w.now.name}`}>{projectionText(w, now)}</span>
          </Gauge>
        ))}
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
              <button key={w.now.name} type="button" class={selected === w.now.name ? "active" : ""} aria-pressed={selected === w.now.name} onClick={() => setSelected(w.now.name)}>
                {w.now.title.replace(/ window/, "")}
              </button>
            ))}
          </div>
        </div>
        {current.top_requests.length === 0 ? (
          <p class="muted">No request has moved this window since it last reset.</p>
        ) : (
          <TopTable rows={current.top_requests} />
        )}
      </section>
    </>
  );
}

function WindowChart({ report }: { report: WindowsReport }) {
  // Each reset as a faint dashed line in its window's colour.
  const resets = report.windows.flatMap((w) => resetsWithin(w).map((x) => ({ x, color: `${windowColor(w.now.name)}55` })));
  const now = Date.now();
  const first = report.since_ms;
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
              label: w.now.title,
              data: windowLine(w),
              borderColor: windowColor(w.now.name),
              backgroundColor: windowColor(w.now.name),
              borderWidth: 2,
              pointRadius: 0,
              stepped: "before" as const,
              spanGaps: false,
            })),
            ...report.windows.flatMap((w) => {
              const points = w.instances.at(-1)?.points ?? [];
              const last = points.at(-1);
              if (!w.projection || w.projection.rate_per_hour <= 0 || !last || w.now.rejected) return [];
              const end = Math.min(w.projection.fills_at_ms ?? Infinity, w.now.resets_at_ms ?? Infinity, xMax);
              const endY = Math.min(100, last.utilization * 100 + ((end - last.ts_ms) / 3_600_000) * w.projection.rate_per_hour * 100);
              return [{
                label: `${w.now.title} projection`,
                data: [{ x: last.ts_ms, y: Math.round(last.utilization * 1000) / 10 }, { x: end, y: Math.round(endY * 10) / 10 }],
                borderColor: windowColor(w.now.name),
                borderDash: [5, 4],
                borderWidth: 1.5,
                pointRadius: 0,
              }];
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
              min: first,
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
        plugins: [verticalLines(() => resets)],
      })}
    />
  );
}

export function flagBadges(r: Pick<RequestRow, "flags" | "request_class" | "agent_type" | "compaction">) {
  const badges: { text: string; title: string; kind: string }[] = [];
  if (r.flags.cache_rebuild_idle) badges.push({ text: "Cache rebuild: idle", title: "The session sat idle past the cache lifetime, so its whole context was written to the cache again", kind: "warn" });
  if (r.flags.cache_rebuild_model_switch) badges.push({ text: "Cache rebuild: model switch", title: "The session switched model, and a new model starts with an empty cache", kind: "warn" });
  if (r.request_class === "compaction" || r.compaction) badges.push({ text: r.compaction ? `Compaction (${r.compaction})` : "Compaction", title: "Claude Code summarised the conversation", kind: "info" });
  if (r.request_class === "subagent") badges.push({ text: classLabel("subagent", r.agent_type), title: "A subagent's request", kind: "info" });
  if (r.flags.failover) badges.push({ text: "Failed over", title: `Served by a later upstream of its route: ${r.flags.failover.replace(/^failed over: /, "")}`, kind: "warn" });
  return badges.map((b) => <span key={b.text} class={`badge ${b.kind}`} title={b.title}>{b.text}</span>);
}

function TopTable({ rows }: { rows: WindowRequest[] }) {
  return (
    <div class="table-wrap">
      <table data-testid="top-requests">
        <thead>
          <tr><th>Time</th><th class="num">Used</th><th class="num">After</th><th>Model</th><th>Why</th><th class="num">Cache write</th><th class="num">Output</th><th class="num">Cost</th></tr>
        </thead>
        <tbody>
          {rows.map(({ delta, utilization, request: r }) => (
            <tr key={r.id}>
              <td title={stamp(r.ts_ms)}>{when(r.ts_ms)}</td>
              <td class="num strong">{points(delta)}</td>
              <td class="num muted">{percent(utilization)}</td>
              <td>{modelName(r.model)}</td>
              <td><div class="badges">{flagBadges(r)}</div></td>
              <td class="num">{tokens(r.cache_write_5m_tokens + r.cache_write_1h_tokens)}</td>
              <td class="num">{tokens(r.output_tokens)}</td>
              <td class="num">{r.cost_usd === null ? <span class="badge unknown">unknown price</span> : moneyFine(r.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
