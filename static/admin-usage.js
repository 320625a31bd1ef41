// The admin panel's usage: three charts over GET /admin/usage (tokens per day stacked by key,
// requests by model, latency p50/p95 per day), each with its numbers in a table for screen readers
// and for copying, and the totals of the period. chart.js is loaded on first use, from Vega itself.
import { api } from './api.js';
import { cell } from './tools.js';

const CHART_JS = '/static/vendor/chart.umd.min.js';
const DAY_MS = 86_400_000;
/** Distinct in light and dark mode, and for the common colour-vision deficiencies (Okabe–Ito). */
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#7f7f7f'];
const number = new Intl.NumberFormat();

let chartJs;

/** `window.Chart`, after adding its script once. A dynamic script from 'self' is what the CSP allows. */
export function loadChartJs() {
  chartJs ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = CHART_JS;
    script.onload = () => resolve(window.Chart);
    script.onerror = () => {
      chartJs = undefined;
      reject(new Error('chart.js could not be loaded'));
    };
    document.head.append(script);
  });
  return chartJs;
}

/** The period's UTC days, oldest first, as YYYY-MM-DD: today and the `days - 1` before it. */
export function periodDays(days, now = new Date()) {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: days }, (_, i) => new Date(today - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

const keyLabel = (group) => group.key_name ?? group.key_id ?? '(no key)';

function dataTable(head, body) {
  const table = document.createElement('table');
  table.className = 'hits';
  const headRow = document.createElement('tr');
  for (const label of head) headRow.append(cell('th', label));
  for (const th of headRow.children) th.scope = 'col';
  const thead = document.createElement('thead');
  thead.append(headRow);
  const tbody = document.createElement('tbody');
  for (const values of body) {
    const tr = document.createElement('tr');
    values.forEach((value, i) => {
      const td = cell(i === 0 ? 'th' : 'td', typeof value === 'number' ? number.format(value) : String(value ?? '–'), i === 0 ? '' : 'num');
      if (i === 0) td.scope = 'row';
      tr.append(td);
    });
    tbody.append(tr);
  }
  table.append(thead, tbody);
  return table;
}

/** The three chart datasets from the three usage answers. Pure: the browser test reads the same shapes. */
export function chartData(days, byDayKey, byModel, byDay) {
  const keys = [...new Set(byDayKey.groups.map(keyLabel))].sort();
  const tokens = {
    labels: days,
    datasets: keys.map((label, i) => {
      const perDay = new Map(byDayKey.groups.filter((group) => keyLabel(group) === label).map((group) => [String(group.day).slice(0, 10), group.tokens]));
      return { label, data: days.map((day) => perDay.get(day) ?? 0), backgroundColor: PALETTE[i % PALETTE.length], stack: 'tokens' };
    }),
  };
  const models = [...byModel.groups].sort((a, b) => b.requests - a.requests);
  const requests = {
    labels: models.map((group) => group.model ?? '(none)'),
    datasets: [{ label: 'Requests', data: models.map((group) => group.requests), backgroundColor: PALETTE[0] }],
  };
  const perDay = new Map(byDay.groups.map((group) => [String(group.day).slice(0, 10), group]));
  const latency = {
    labels: days,
    datasets: [
      { label: 'p50', data: days.map((day) => perDay.get(day)?.p50_ms ?? null), borderColor: PALETTE[0], backgroundColor: PALETTE[0] },
      { label: 'p95', data: days.map((day) => perDay.get(day)?.p95_ms ?? null), borderColor: PALETTE[5], backgroundColor: PALETTE[5] },
    ],
  };
  return { tokens, requests, latency };
}

/** A day label (YYYY-MM-DD, UTC) as the reader's short date: "Dec 6". */
const dayTick = (day) => new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

function chartOptions(kind) {
  const reduced = matchMedia('(prefers-reduced-motion: reduce)').matches;
  const base = { responsive: true, maintainAspectRatio: false, animation: reduced ? false : { duration: 300 }, plugins: { legend: { position: 'bottom' } } };
  const days = {
    ticks: {
      maxRotation: 0,
      autoSkipPadding: 12,
      callback(value) {
        return dayTick(this.getLabelForValue(value));
      },
    },
  };
  if (kind === 'tokens') {
    return { ...base, scales: { x: { ...days, stacked: true }, y: { stacked: true, beginAtZero: true, grace: '5%', title: { display: true, text: 'tokens' } } } };
  }
  if (kind === 'requests') return { ...base, indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } };
  return { ...base, spanGaps: false, elements: { point: { radius: 3 } }, scales: { x: days, y: { beginAtZero: true, grace: '10%', title: { display: true, text: 'ms' } } } };
}

/** The usage section: `load()` fetches the chosen period and draws it. */
export function initUsage() {
  const $ = (id) => document.getElementById(id);
  const charts = {};
  const period = $('usage-days');

  async function usage(groupBy, from) {
    // No `to`: the range ends at the server's now, so a clock behind the server's hides nothing just stored.
    const params = new URLSearchParams({ from, group_by: groupBy });
    return (await api(`/admin/usage?${params}`)).json();
  }

  function draw(Chart, id, kind, data) {
    if (charts[id]) {
      charts[id].data = data;
      charts[id].update();
      return;
    }
    charts[id] = new Chart($(id), { type: kind === 'latency' ? 'line' : 'bar', data, options: chartOptions(kind) });
  }

  function applyTheme(Chart) {
    const style = getComputedStyle(document.documentElement);
    Chart.defaults.color = style.getPropertyValue('--muted').trim() || Chart.defaults.color;
    Chart.defaults.borderColor = style.getPropertyValue('--line').trim() || Chart.defaults.borderColor;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  }

  async function load() {
    const days = periodDays(Number(period.value));
    const from = `${days[0]}T00:00:00.000Z`;
    const [Chart, byDayKey, byModel, byDay] = await Promise.all([loadChartJs(), usage('day,key', from), usage('model', from), usage('day', from)]);
    applyTheme(Chart);
    const data = chartData(days, byDayKey, byModel, byDay);
    draw(Chart, 'chart-tokens', 'tokens', data.tokens);
    draw(Chart, 'chart-models', 'requests', data.requests);
    draw(Chart, 'chart-latency', 'latency', data.latency);
    const active = days.map((day, i) => [day, i]).filter(([, i]) => data.tokens.datasets.some((set) => set.data[i] > 0));
    $('chart-tokens-data').replaceChildren(
      dataTable(['Day', ...data.tokens.datasets.map((set) => set.label)], active.map(([day, i]) => [day, ...data.tokens.datasets.map((set) => set.data[i])])),
    );
    $('chart-models-data').replaceChildren(dataTable(['Model', 'Requests'], data.requests.labels.map((model, i) => [model, data.requests.datasets[0].data[i]])));
    $('chart-latency-data').replaceChildren(
      dataTable(['Day', 'p50 ms', 'p95 ms'], byDay.groups.map((group) => [String(group.day).slice(0, 10), group.p50_ms, group.p95_ms])),
    );
    const totals = byDay.totals;
    $('usage-totals').textContent =
      `${number.format(totals.requests)} ${totals.requests === 1 ? 'request' : 'requests'} · ${number.format(totals.tokens)} tokens · ` +
      `${number.format(Math.round(totals.model_seconds * 10) / 10)} model-seconds · ${number.format(totals.errors)} errors` +
      (totals.requests > 0 ? ` · p50 ${number.format(totals.p50_ms)} ms · p95 ${number.format(totals.p95_ms)} ms` : '');
    return byDayKey;
  }

  return { load, period };
}
