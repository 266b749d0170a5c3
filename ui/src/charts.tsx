// The dashboard's charts, drawn by Chart.js (tree-shaken to the parts used,
// in `chartjs`, and loaded with the first chart).
// Each canvas carries what the chart instance holds (series names and their
// sums) as data attributes, which the browser tests read.

import type { Chart, ChartConfiguration, Plugin } from "chart.js";
import { useEffect, useRef } from "preact/hooks";
import { useTheme } from "./theme";

// Chart.js is loaded with the first chart, not with the page: the Overview,
// where the window opens, has no chart and paints sooner without it.
const loadChart = () => import("./chartjs").then((module) => module.Chart);

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function mark(canvas: HTMLCanvasElement, chart: Chart) {
  const datasets = chart.data.datasets;
  canvas.dataset.series = JSON.stringify(datasets.map((d) => d.label));
  canvas.dataset.sums = JSON.stringify(
    datasets.map((d) =>
      Math.round((d.data as unknown[]).reduce<number>((sum, v) => sum + (typeof v === "number" ? v : ((v as { y?: number | null })?.y ?? 0)), 0) * 1e6) / 1e6,
    ),
  );
  canvas.dataset.points = String(datasets.reduce((n, d) => n + d.data.length, 0));
  canvas.dataset.nulls = String(datasets.reduce((n, d) => n + (d.data as unknown[]).filter((v) => v === null).length, 0));
}

/** A Chart.js chart in a canvas; rebuilt when its config or the theme changes, destroyed with the component. */
export function ChartCanvas(props: { name: string; label: string; config: () => ChartConfiguration; deps: unknown[]; height?: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const theme = useTheme();
  useEffect(() => {
    let live = true;
    let chart: Chart | undefined;
    void loadChart().then((Chart) => {
      if (!live || !canvas.current) return;
      Chart.defaults.color = css("--muted");
      Chart.defaults.borderColor = css("--grid");
      Chart.defaults.font.family = css("--font");
      Chart.defaults.font.size = 12;
      chart = new Chart(canvas.current, props.config());
      mark(canvas.current, chart);
    });
    return () => {
      live = false;
      chart?.destroy();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...props.deps, theme]);
  return (
    <div class="chart" style={{ height: `${props.height ?? 260}px` }}>
      <canvas ref={canvas} data-chart={props.name} role="img" aria-label={props.label} />
    </div>
  );
}

/** Dashed vertical lines at the given x values (window resets), under the data. */
export function verticalLines(lines: () => { x: number; color: string }[]): Plugin {
  return {
    id: "verticalLines",
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      ctx.setLineDash([4, 4]);
      ctx.lineWidth = 1;
      for (const { x, color } of lines()) {
        ctx.strokeStyle = color;
        const px = scales.x.getPixelForValue(x);
        if (px < chartArea.left || px > chartArea.right) continue;
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
      }
      ctx.restore();
    },
  };
}

export { css };
