/**
 * A small line chart as SVG (log-scaled x), for figures where a curve says more than a row.
 */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export function lineChartSvg(title: string, xLabel: string, yLabel: string, series: readonly Series[]): string {
  const width = 640;
  const height = 380;
  const m = { left: 64, right: 20, top: 40, bottom: 52 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map(([x]) => Math.log10(x));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMax = Math.max(...all.map(([, y]) => y)) * 1.1 || 1;
  const px = (x: number) => m.left + ((Math.log10(x) - xMin) / (xMax - xMin || 1)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - (y / yMax) * (height - m.top - m.bottom);
  const ticksY = Array.from({ length: 6 }, (_, i) => (yMax / 5) * i);
  const ticksX = [...new Set(all.map(([x]) => x))].sort((a, b) => a - b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${title}</text>`,
    `<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="#333"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="#333"/>`,
    ...ticksY.map((y) => `<g><line x1="${m.left - 4}" y1="${py(y)}" x2="${width - m.right}" y2="${py(y)}" stroke="#eee"/><text x="${m.left - 8}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(y < 10 ? 1 : 0)}</text></g>`),
    ...ticksX.map((x) => `<text x="${px(x)}" y="${height - m.bottom + 18}" text-anchor="middle">${x}</text>`),
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">${xLabel}</text>`,
    `<text x="16" y="${height / 2}" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">${yLabel}</text>`,
  ];
  series.forEach((s, i) => {
    const path = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [x, y] of s.points) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    out.push(`<text x="${m.left + 12}" y="${m.top + 14 + i * 16}" fill="${s.color}">■ ${s.name}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
