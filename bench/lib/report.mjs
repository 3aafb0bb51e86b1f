// Writes bench/RESULTS.md and bench/results.svg from one run's figures.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

function bar(x, y, width, height, fill, label) {
  return `<rect x="${x}" y="${y}" width="${Math.max(0, width).toFixed(1)}" height="${height}" fill="${fill}"/><text x="${(x + width + 4).toFixed(1)}" y="${y + height - 3}" font-size="11">${label}</text>`;
}

/** Two panels (throughput, p99) with a project and a baseline bar per compared scenario. */
export function chart(rows) {
  const compared = rows.filter((row) => row.baseline);
  const rowHeight = 34;
  const panelHeight = 30 + compared.length * rowHeight;
  const maxRps = Math.max(...compared.flatMap((row) => [row.project.rps, row.baseline.rps]), 1);
  const maxP99 = Math.max(...compared.flatMap((row) => [row.project.p99, row.baseline.p99]), 1);
  const parts = [];
  const panel = (top, title, value, max, unit) => {
    parts.push(`<text x="10" y="${top + 16}" font-size="13" font-weight="bold">${title}</text>`);
    compared.forEach((row, index) => {
      const y = top + 26 + index * rowHeight;
      parts.push(`<text x="10" y="${y + 12}" font-size="11">${row.name}</text>`);
      parts.push(bar(200, y, (value(row.project) / max) * 420, 12, '#2f6fde', `project ${fmt(value(row.project))}${unit}`));
      parts.push(bar(200, y + 14, (value(row.baseline) / max) * 420, 12, '#9aa5b1', `baseline ${fmt(value(row.baseline))}${unit}`));
    });
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
  lines.push('compare the project with the bare baseline measured alternately in the same run, on the same data.', '');
  lines.push('| machine | value |', '|---|---|');
  lines.push(`| CPU | ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length} |`);
  lines.push(`| memory | ${fmt(os.totalmem() / 2 ** 30, 1)} GiB |`);
  lines.push(`| Node.js | ${process.version} |`);
  lines.push(`| PostgreSQL | ${run.postgresVersion} |`);
  const { memory } = run;
  const pages = memory.hugePagesInUse === null ? 'page size unknown (server not readable from here)' : memory.hugePagesInUse ? `on 2 MB huge pages (${memory.huge_pages_needed} of them)` : '**on 4 kB pages** (no huge pages reserved)';
  lines.push(`| PostgreSQL shared memory | shared_buffers ${memory.shared_buffers}, ${pages}; huge_pages = ${memory.huge_pages} |`);
  lines.push(`| load | autocannon, ${run.connections} connections, ${run.duration} s per measurement, ${run.rounds} round(s), each going through every scenario, project then baseline |`);
  lines.push(`| pool size | ${run.poolSize} (project and baseline) |`);
  lines.push('| database round trips per read | project: the read-only tenant transaction pipelined in one, its statement prepared once per connection; baseline: four, unnamed statements (pg\'s default) |');
  lines.push(`| project NODE_OPTIONS | \`${run.nodeOptions || '(none)'}\` (the production image's, from the Dockerfile) |`);
  lines.push('| warm-up | every user of the spread mix once (first contact), then 3 s of list and 2 s of get, on each server |', '');
  for (const scale of scales) {
    lines.push(`## ${scale.name}: ${scale.shape.tenants} tenants × ${scale.shape.boards} boards × ${scale.shape.members} members (${scale.shape.users} users per tenant)`, '');
    lines.push(`Seeded in ${fmt(scale.seedSeconds, 1)} s. Project start to ready: ${fmt(scale.startToReadyMs)} ms. Peak RSS of the project under load: ${fmt(scale.peakRssMb, 1)} MB (baseline ${fmt(scale.baselinePeakRssMb, 1)} MB).`, '');
    lines.push('| scenario | project req/s | baseline req/s | ratio | project p50 ms | project p99 ms | baseline p50 ms | baseline p99 ms | p99 ratio | errors |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const row of scale.rows) {
      const b = row.baseline;
      lines.push(
        `| ${row.name} | ${fmt(row.project.rps)} | ${b ? fmt(b.rps) : '—'} | ${b ? fmt(row.project.rps / b.rps, 2) : '—'} | ${fmt(row.project.p50, 1)} | ${fmt(row.project.p99, 1)} | ${b ? fmt(b.p50, 1) : '—'} | ${b ? fmt(b.p99, 1) : '—'} | ${b ? fmt(row.project.p99 / b.p99, 2) : '—'} | ${row.project.errors + row.project.non2xx}${b ? ` / ${b.errors + b.non2xx}` : ''} |`,
      );
    }
    lines.push('');
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
  lines.push('', '![throughput and p99, project vs baseline](results.svg)', '');
  lines.push('Reproduce: `npm run build && npm run bench` (defaults: 100 tenants × 200 boards × 5 members);');
  lines.push('`npm run bench -- --scale large` seeds 10,000 tenants × 100 boards; `--scale both` runs both and compares the list p50.');
  // The noisy-neighbour section (bench/noisy.mjs) is kept as it was.
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const start = previous.indexOf('<!-- noisy:start -->');
  const end = previous.indexOf('<!-- noisy:end -->');
  if (start >= 0 && end > start) lines.push('', previous.slice(start, end + '<!-- noisy:end -->'.length));
  writeFileSync(path, `${lines.join('\n')}\n`);
  writeFileSync(svgPath, chart(scales[scales.length - 1].rows));
}
