// The console's one script (an ES module: no inline script anywhere, the CSP forbids it).
// Live: when the server says something changed (a run recorded, an alert, a control,
// traffic, a report), the page's main part is fetched again and swapped in, at most
// once every two seconds, unless the person is typing in a form there.
// Charts: an element with data-chart holds its series as JSON; uPlot draws it.

const main = document.getElementById('main');

async function reload() {
  if (!main || main.dataset.live === 'off') return;
  const active = document.activeElement;
  if (active && main.contains(active) && (active.tagName === 'INPUT' || active.tagName === 'SELECT' || active.tagName === 'TEXTAREA')) return;
  const url = new URL(location.href);
  url.searchParams.set('partial', '1');
  const response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } });
  if (response.redirected || response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    return;
  }
  if (!response.ok) return;
  main.innerHTML = await response.text();
  main.dispatchEvent(new CustomEvent('console:updated'));
  await drawCharts();
}

let timer;
function soon() {
  if (timer) return;
  timer = setTimeout(() => {
    timer = undefined;
    reload().catch(() => {});
  }, 2000);
}

if (main && main.dataset.live !== 'off' && 'EventSource' in window) {
  const events = new EventSource('/console/events');
  events.addEventListener('change', soon);
}

// uPlot's minified build (a classic script from this server, which the CSP allows), loaded once, when a page has a chart.
let uplotLoaded;
function loadUplot() {
  uplotLoaded ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/console/assets/vendor/uplot/uPlot.iife.min.js';
    script.onload = () => resolve(window.uPlot);
    script.onerror = reject;
    document.head.append(script);
  });
  return uplotLoaded;
}

async function drawCharts() {
  const charts = document.querySelectorAll('[data-chart]');
  if (charts.length === 0) return;
  const uPlot = await loadUplot();
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  const axis = { stroke: dark ? '#a0a6ac' : '#5d6166', grid: { stroke: dark ? '#2d3237' : '#e3e5e8' }, ticks: { stroke: dark ? '#2d3237' : '#e3e5e8' } };
  const palette = ['#0b5cad', '#c62828', '#1a7f37', '#9a6700', '#6f42c1', '#00838f'];
  for (const element of charts) {
    let spec;
    try {
      spec = JSON.parse(element.dataset.chart);
    } catch {
      continue;
    }
    element.replaceChildren();
    const width = Math.max(240, element.clientWidth || 320);
    new uPlot(
      {
        width,
        height: spec.height ?? 160,
        scales: { x: spec.xRange ? { time: true, range: spec.xRange } : { time: true }, y: spec.range ? { range: spec.range } : {} },
        axes: [axis, { ...axis, values: spec.percent ? (_u, values) => values.map((v) => `${(v * 100).toFixed(0)}%`) : undefined }],
        series: [{}, ...spec.series.map((name, i) => ({ label: name, stroke: palette[i % palette.length], width: 1.5, points: { show: spec.x.length < 40 } }))],
        legend: { show: spec.series.length > 1 },
      },
      [spec.x, ...spec.y],
      element,
    );
  }
}

drawCharts().catch(() => {});
