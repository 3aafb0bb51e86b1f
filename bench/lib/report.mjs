// Writes bench/RESULTS.md and bench/results.svg from one run's figures.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

function bar(x, y, width, height, fill, label) {
  return `<rect x="${x}" y="${y}" width="${Math.max(0, width).toFixed(1)}" height="${height}" fill="${fill}"/><text x="${(x + width + 4).toFixed(1)}" y="${y + height - 3}" font-size="11">${label}</text>`;
}

/** The servers drawn beside the project, in the order of their bars. */
const SERIES = [
  { key: 'project', label: 'project', fill: '#2f6fde' },
  { key: 'limit', label: 'limit', fill: '#2e9e5b' },
  { key: 'baseline', label: '4-RT baseline', fill: '#9aa5b1' },
];

/**
 * Two panels (throughput, p99), a bar per server measured for each route compared: the project,
 * the bare limit and the old 4-round-trip baseline (POST has no baseline bar: it has no POST).
 */
export function chart(rows) {
  const compared = rows.filter((row) => row.limit || row.baseline);
  const barsOf = (row) => SERIES.filter((series) => row[series.key]);
  const rowHeight = (row) => 8 + barsOf(row).length * 14;
  const panelHeight = 30 + compared.reduce((sum, row) => sum + rowHeight(row), 0);
  const all = compared.flatMap((row) => barsOf(row).map((series) => row[series.key]));
  const maxRps = Math.max(...all.map((f) => f.rps), 1);
  const maxP99 = Math.max(...all.map((f) => f.p99), 1);
  const parts = [];
  const panel = (top, title, value, max, unit) => {
    parts.push(`<text x="10" y="${top + 16}" font-size="13" font-weight="bold">${title}</text>`);
    let y = top + 26;
    for (const row of compared) {
      parts.push(`<text x="10" y="${y + 12}" font-size="11">${row.name}</text>`);
      barsOf(row).forEach((series, index) => {
        const figure = row[series.key];
        parts.push(bar(230, y + index * 14, (value(figure) / max) * 420, 12, series.fill, `${series.label} ${fmt(value(figure))}${unit}`));
      });
      y += rowHeight(row);
    }
  };
  panel(0, 'Throughput (requests/s, higher is better)', (f) => f.rps, maxRps, ' req/s');
  panel(panelHeight + 10, 'p99 latency (ms, lower is better)', (f) => f.p99, maxP99, ' ms');
  const height = 2 * panelHeight + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="820" height="${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

export function writeReport({ path, svgPath, run, scales, checks }) {
  const lines = [];
  lines.push('# Benchmark results', '');
  lines.push(`Written by \`npm run bench\` on ${run.date}. Figures drift between machines and runs; the ratios`);
  lines.push('compare the project with two references measured alternately in the same run, on the same data:');
  lines.push('the bare **limit** (`bench/limit/server.mjs`: the same work, one round trip per read and per write,');
  lines.push('prepared statements) and the old **4-round-trip baseline** (`bench/baseline/server.mjs`: reads only,');
  lines.push("four round trips, pg's unnamed statements). Every server's answers are checked to agree before anything is measured.", '');
  lines.push('| machine | value |', '|---|---|');
  lines.push(`| CPU | ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length} |`);
  lines.push(`| memory | ${fmt(os.totalmem() / 2 ** 30, 1)} GiB |`);
  lines.push(`| Node.js | ${process.version} |`);
  lines.push(`| PostgreSQL | ${run.postgresVersion} |`);
  const { memory } = run;
  const pages = memory.hugePagesInUse === null ? 'page size unknown (server not readable from here)' : memory.hugePagesInUse ? `on 2 MB huge pages (${memory.huge_pages_needed} of them)` : '**on 4 kB pages** (no huge pages reserved)';
  lines.push(`| PostgreSQL shared memory | shared_buffers ${memory.shared_buffers}, ${pages}; huge_pages = ${memory.huge_pages} |`);
  lines.push(`| load | autocannon, ${run.connections} connections, ${run.duration} s per measurement, ${run.rounds} round(s), each going through every scenario, project, limit, via Nest (list and get), then baseline; POST on the project and the limit only |`);
  lines.push(`| pool size | ${run.poolSize} (project, limit and baseline) |`);
  lines.push('| database round trips per read | project: the read-only tenant transaction pipelined in one, its statement prepared once per connection; limit: the same, with postgres.js on a reserved connection; baseline: four, unnamed statements (pg\'s default) |');
  lines.push('| database round trips per POST /api/boards | project: one (the open with its settings, the INSERT … RETURNING joined to the owner and the COMMIT, in one write and one sync: the insert is the last statement of the request, audit events being off); limit: one (BEGIN, settings, one INSERT … RETURNING joined to the owner, COMMIT, pipelined) |');
  lines.push('| GET /health/ready | project and limit: from state a background check refreshes; baseline: `SELECT 1` per probe. Under the list load: one probe at a time, 20 a second, from a worker thread, while the spread-mix list load runs on the same server; the project probed on its probe port (`BOARDS_HEALTH_PORT`, a thread of its own, as the Kubernetes manifests probe it) and, for comparison, on its API port |');
  lines.push(`| project NODE_OPTIONS | \`${run.nodeOptions || '(none)'}\` (the production image's, from the Dockerfile) |`);
  lines.push('| warm-up | every user of the spread mix once (first contact), then 3 s of list and 2 s of get, on each server; 200 POSTs on the project and the limit |', '');
  for (const scale of scales) {
    lines.push(`## ${scale.name}: ${scale.shape.tenants} tenants × ${scale.shape.boards} boards × ${scale.shape.members} members (${scale.shape.users} users per tenant)`, '');
    lines.push(`Seeded in ${fmt(scale.seedSeconds, 1)} s. Project start to ready: ${fmt(scale.startToReadyMs)} ms. Peak RSS of the project under load: ${fmt(scale.peakRssMb, 1)} MB (limit ${fmt(scale.limitPeakRssMb, 1)} MB, baseline ${fmt(scale.baselinePeakRssMb, 1)} MB).`, '');
    if (scale.agreement) lines.push(`Answers checked before measuring: ${scale.agreement.join('; ')}.`, '');
    lines.push('Against the old 4-round-trip baseline:', '');
    lines.push('| scenario | project req/s | baseline req/s | ratio | project p50 ms | project p99 ms | baseline p50 ms | baseline p99 ms | p99 ratio | errors |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const row of scale.rows) {
      const b = row.baseline;
      lines.push(
        `| ${row.name} | ${fmt(row.project.rps)} | ${b ? fmt(b.rps) : '—'} | ${b ? fmt(row.project.rps / b.rps, 2) : '—'} | ${fmt(row.project.p50, 1)} | ${fmt(row.project.p99, 1)} | ${b ? fmt(b.p50, 1) : '—'} | ${b ? fmt(b.p99, 1) : '—'} | ${b ? fmt(row.project.p99 / b.p99, 2) : '—'} | ${row.project.errors + row.project.non2xx}${b ? ` / ${b.errors + b.non2xx}` : ''} |`,
      );
    }
    lines.push('');
    const limited = scale.rows.filter((row) => row.limit);
    if (limited.length > 0) {
      lines.push('Against the bare limit (one round trip per request), every route; the last column puts the old baseline against the same limit:', '');
      lines.push('| scenario | project req/s | limit req/s | throughput vs limit | project p99 ms | limit p50 ms | limit p99 ms | p99 vs limit | baseline req/s vs limit | errors (limit) |');
      lines.push('|---|---|---|---|---|---|---|---|---|---|');
      for (const row of limited) {
        const l = row.limit;
        const b = row.baseline;
        lines.push(
          `| ${row.name} | ${fmt(row.project.rps)} | ${fmt(l.rps)} | ${fmt(row.project.rps / l.rps, 2)} | ${fmt(row.project.p99, 1)} | ${fmt(l.p50, 1)} | ${fmt(l.p99, 1)} | ${fmt(row.project.p99 / l.p99, 2)} | ${b ? fmt(b.rps / l.rps, 2) : '—'} | ${l.errors + l.non2xx} |`,
        );
      }
      lines.push('');
    }
    if (scale.probeUnderLoad) {
      lines.push(`GET /health/ready under the list load (${scale.probeRate} probes a second, one at a time, while the spread-mix list load runs on the same server; mean of the rounds' percentiles):`, '');
      lines.push('| server | list load req/s | probes | probe p50 ms | probe p99 ms | probe max ms | errors |');
      lines.push('|---|---|---|---|---|---|---|');
      for (const [name, f] of Object.entries(scale.probeUnderLoad)) {
        lines.push(`| ${name} | ${fmt(f.listRps)} | ${f.probes} | ${fmt(f.p50, 2)} | ${fmt(f.p99, 2)} | ${fmt(f.max, 1)} | ${f.errors} |`);
      }
      lines.push('');
    }
    const direct = scale.rows.filter((row) => row.viaNest);
    if (direct.length > 0) {
      lines.push('The @DirectRoute dispatcher against the same project with every route through Nest (`BOARDS_API_DIRECT_ROUTES=false`), measured in the same rounds (docs/adr/0001-direct-routes.md):', '');
      lines.push('| scenario | direct req/s | via Nest req/s | ratio | direct p99 ms | via Nest p99 ms | via Nest vs baseline req/s |');
      lines.push('|---|---|---|---|---|---|---|');
      for (const row of direct) {
        lines.push(
          `| ${row.name} | ${fmt(row.project.rps)} | ${fmt(row.viaNest.rps)} | ${fmt(row.project.rps / row.viaNest.rps, 2)} | ${fmt(row.project.p99, 1)} | ${fmt(row.viaNest.p99, 1)} | ${fmt(row.viaNest.rps / row.baseline.rps, 2)} |`,
        );
      }
      lines.push('');
    }
  }
  lines.push('## Targets', '');
  lines.push('| target | measured | met |', '|---|---|---|');
  for (const check of checks) lines.push(`| ${check.target} | ${check.measured} | ${check.met ? 'yes' : '**no**'} |`);
  lines.push('', '![throughput and p99: project, limit and 4-round-trip baseline](results.svg)', '');
  lines.push('Reproduce: `npm run build && npm run bench` (defaults: 100 tenants × 200 boards × 5 members);');
  lines.push('`npm run bench -- --scale large` seeds 10,000 tenants × 100 boards; `--scale both` runs both and compares the list p50;');
  lines.push('`--out DIR` writes the report, chart and figures to DIR instead (a trial run that leaves this file alone).');
  // The sections of the other scenarios (bench/noisy.mjs, bench/isolation.mjs) are kept as they were.
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  for (const section of ['noisy', 'isolation']) {
    const start = previous.indexOf(`<!-- ${section}:start -->`);
    const end = previous.indexOf(`<!-- ${section}:end -->`);
    if (start >= 0 && end > start) lines.push('', previous.slice(start, end + `<!-- ${section}:end -->`.length));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  writeFileSync(svgPath, chart(scales[scales.length - 1].rows));
}
