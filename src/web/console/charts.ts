/** Small SVG bar charts, drawn with DOM calls (no library, nothing inline for the CSP to refuse). */
const SVG = 'http://www.w3.org/2000/svg';

function element(name: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Stacked columns, one per label (a day), one colour per series. */
export function stackedColumns(labels: string[], series: Array<{ name: string; colour: string; values: number[] }>): SVGElement {
  const width = 720;
  const height = 220;
  const bottom = 30;
  const top = 10;
  const max = Math.max(1, ...labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0)));
  const step = width / Math.max(1, labels.length);
  // Screen readers get the totals in words; the bars' titles give each day.
  const totals = series.map((s) => `${s.values.reduce((a, b) => a + b, 0)} ${s.name}`).join(', ');
  const svg = element('svg', { viewBox: `0 0 ${width} ${height + 20}`, role: 'img', class: 'chart', 'aria-label': `${labels.length} days: ${totals}` });
  labels.forEach((label, i) => {
    let y = height - bottom;
    for (const s of series) {
      const value = s.values[i] ?? 0;
      const h = (value / max) * (height - bottom - top);
      const bar = element('rect', { x: i * step + 2, y: y - h, width: Math.max(1, step - 4), height: h, fill: s.colour });
      bar.append(element('title', {}, `${label} ${s.name}: ${value}`));
      svg.append(bar);
      y -= h;
    }
    if (labels.length <= 31 && i % Math.ceil(labels.length / 10) === 0) svg.append(element('text', { x: i * step + 2, y: height - bottom + 14, 'font-size': 10 }, label.slice(5)));
  });
  series.forEach((s, k) => {
    svg.append(element('rect', { x: k * 160, y: height, width: 10, height: 10, fill: s.colour }));
    svg.append(element('text', { x: k * 160 + 14, y: height + 9, 'font-size': 11 }, s.name));
  });
  svg.append(element('text', { x: width - 4, y: top + 8, 'font-size': 10, 'text-anchor': 'end' }, `max ${max}`));
  return svg;
}

/** Horizontal bars with their values, largest first. */
export function bars(values: Array<{ name: string; value: number }>): SVGElement {
  const width = 720;
  const row = 22;
  const max = Math.max(1, ...values.map((v) => v.value));
  const svg = element('svg', { viewBox: `0 0 ${width} ${Math.max(1, values.length) * row}`, role: 'img', class: 'chart', 'aria-label': values.map((v) => `${v.name} ${v.value}`).join(', ') });
  values.forEach((v, i) => {
    svg.append(element('text', { x: 0, y: i * row + 15, 'font-size': 12 }, v.name));
    svg.append(element('rect', { x: 160, y: i * row + 4, width: ((width - 230) * v.value) / max, height: 14, fill: '#c0392b' }));
    svg.append(element('text', { x: 164 + ((width - 230) * v.value) / max, y: i * row + 15, 'font-size': 12 }, String(v.value)));
  });
  return svg;
}
