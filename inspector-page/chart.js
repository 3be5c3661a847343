// The client machine's statechart, drawn from the model the server reads off the machine's
// definition. Drawn at one SVG unit per CSS pixel, with boxes sized from the measured width of
// their text: a drawing scaled down to its panel made 7 px labels that spilled out of their
// boxes once the fonts were hinted at 2×.

const FONT = 'system-ui, -apple-system, "Segoe UI", sans-serif';
const TITLE = 13;
const TEXT = 12;
const LINE = 16;
const PAD = 10;
const MARGIN = 12;

const measure = document.createElement('canvas').getContext('2d');
function width(text, size = TEXT, weight = 400) {
  measure.font = `${weight} ${size}px ${FONT}`;
  return Math.ceil(measure.measureText(text).width);
}

export function escapeXml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

const short = (event) => event.replace(/^(socket|client)\./, '');
const titleOf = (s) => `${s.id}${s.initial ? ' (initial)' : ''}${s.final ? ' (final)' : ''}`;
const ignoreLine = (ig) => `${short(ig.event)}: ignored (${ig.why})`;
const edgeLabel = (t) => (t.timer ? `timer: ${t.timer}` : `${short(t.event)}${t.guard ? ` [${t.guard}]` : ''}`);

/**
 * Returns the SVG markup of `chart` for a container `available` px wide, with `current` (a
 * state id or null) lit. States sit on a clockwise ring of two columns, in the order the
 * machine defines them.
 */
export function drawChart(chart, current, available, colorOf) {
  const lines = Math.max(0, ...chart.states.map((s) => s.ignores.length));
  const boxW =
    2 * PAD +
    Math.max(
      ...chart.states.map((s) =>
        Math.max(width(titleOf(s), TITLE, 700), ...s.ignores.map((i) => width(ignoreLine(i)))),
      ),
    );
  const boxH = PAD + LINE + lines * LINE + PAD;

  const groups = new Map();
  const selfLoops = new Map();
  for (const t of chart.transitions) {
    const key = `${t.from}>${t.to}`;
    if (t.from === t.to) selfLoops.set(t.from, [...(selfLoops.get(t.from) ?? []), edgeLabel(t)]);
    else groups.set(key, [...(groups.get(key) ?? []), edgeLabel(t)]);
  }
  const rows = Math.ceil(chart.states.length / 2);
  const colOf = (i) => {
    const row = Math.floor(i / 2);
    return row % 2 === 0 ? i % 2 : 1 - (i % 2);
  };
  const index = new Map(chart.states.map((s, i) => [s.id, i]));
  // room the labels need: beside vertical edges, between the columns, along the horizontal ones
  let besideLeft = 0;
  let besideRight = 0;
  let outside = 0;
  let across = 0;
  let stack = 1;
  for (const [key, labels] of groups) {
    const [from, to] = key.split('>');
    const a = index.get(from);
    const b = index.get(to);
    const w = Math.max(...labels.map((l) => width(l)));
    stack = Math.max(stack, labels.length);
    if (colOf(a) === colOf(b)) {
      const paired = groups.has(`${to}>${from}`);
      if (colOf(a) === 0) besideLeft = Math.max(besideLeft, w);
      else if (paired && Math.floor(a / 2) > Math.floor(b / 2)) outside = Math.max(outside, w);
      else besideRight = Math.max(besideRight, w);
    } else if (Math.floor(a / 2) === Math.floor(b / 2)) {
      across = Math.max(across, w);
    }
  }
  // the client machine's self-transitions swap the socket; another machine's just stay
  const loopNote = chart.id === 'node' ? '' : ' (socket swap)';
  const loopW = Math.max(0, ...[...selfLoops.values()].map((l) => width(`↻ ${l.join(', ')}${loopNote}`)));
  const gap = Math.max(besideLeft + besideRight + 60 - boxW, across + 24, 60);
  const rightRoom = Math.max(0, outside + 30 - boxW / 2, loopW / 2 - boxW / 2);
  const W = Math.max(available, MARGIN + boxW + gap + boxW + rightRoom + MARGIN);
  const rowGap = Math.max(96, stack * LINE + 48);
  const top = MARGIN + LINE + 8;
  const H = top + rows * boxH + (rows - 1) * rowGap + MARGIN;
  const x1 = W - MARGIN - rightRoom - boxW;
  const pos = new Map(
    chart.states.map((s, i) => [
      s.id,
      { x: colOf(i) === 0 ? MARGIN : x1, y: top + Math.floor(i / 2) * (boxH + rowGap) },
    ]),
  );
  const center = (id) => ({ x: pos.get(id).x + boxW / 2, y: pos.get(id).y + boxH / 2 });
  // the point where the segment from a box's center towards `to` leaves the box
  const exit = (id, to) => {
    const c = center(id);
    const dx = to.x - c.x;
    const dy = to.y - c.y;
    const t = Math.min(Math.abs(boxW / 2 / (dx || 1e-9)), Math.abs(boxH / 2 / (dy || 1e-9)));
    return { x: c.x + dx * t, y: c.y + dy * t };
  };

  const parts = [
    `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg" font-size="${TEXT}" font-family='${FONT}'>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#56607a"/></marker></defs>',
  ];
  const label = (x, y, anchor, text) =>
    `<text x="${x}" y="${y}" text-anchor="${anchor}" dominant-baseline="middle" fill="#3c4458" paint-order="stroke" stroke="#fff" stroke-width="4">${escapeXml(text)}</text>`;
  for (const [key, labels] of groups) {
    const [from, to] = key.split('>');
    const a = center(from);
    const b = center(to);
    // a pair of opposite edges is drawn side by side, each shifted to its right
    const paired = groups.has(`${to}>${from}`);
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
    const nx = (-(b.y - a.y) / len) * (paired ? 14 : 0);
    const ny = ((b.x - a.x) / len) * (paired ? 14 : 0);
    const p1 = exit(from, { x: b.x + nx, y: b.y + ny });
    const p2 = exit(to, { x: a.x + nx, y: a.y + ny });
    parts.push(
      `<line x1="${p1.x + nx}" y1="${p1.y + ny}" x2="${p2.x + nx}" y2="${p2.y + ny}" stroke="#8a93a8" stroke-width="1.3" marker-end="url(#arrow)"/>`,
    );
    const vertical = Math.abs(b.x - a.x) < 1;
    const horizontal = Math.abs(b.y - a.y) < 1;
    labels.forEach((text, i) => {
      const dy = (i - (labels.length - 1) / 2) * LINE;
      if (vertical) {
        const x = (p1.x + p2.x) / 2 + nx;
        const y = (p1.y + p2.y) / 2 + dy;
        // labels of vertical edges go on the side facing the middle of the drawing, except the
        // outer one of a pair
        const inward = x < W / 2 ? 1 : -1;
        const side = paired ? Math.sign(nx) || inward : inward;
        parts.push(label(x + side * 8, y, side > 0 ? 'start' : 'end', text));
      } else if (horizontal) {
        const y = (p1.y + p2.y) / 2 + ny - 10 - (labels.length - 1 - i) * LINE;
        parts.push(label((p1.x + p2.x) / 2 + nx, y, 'middle', text));
      } else {
        // a diagonal edge is labelled a third of the way along, clear of the vertical edges' labels
        const x = p1.x + (p2.x - p1.x) * 0.3 + nx;
        const y = p1.y + (p2.y - p1.y) * 0.3 + ny - 10 + dy;
        parts.push(label(x, y, 'middle', text));
      }
    });
  }
  for (const s of chart.states) {
    const { x, y } = pos.get(s.id);
    const active = s.id === current;
    const color = colorOf(s.id);
    parts.push(
      `<rect x="${x}" y="${y}" width="${boxW}" height="${boxH}" rx="8" fill="${active ? color : '#fff'}" stroke="${color}" stroke-width="${active ? 3 : 1.5}"/>`,
    );
    if (s.final) {
      parts.push(
        `<rect x="${x + 3}" y="${y + 3}" width="${boxW - 6}" height="${boxH - 6}" rx="6" fill="none" stroke="${active ? '#fff' : color}"/>`,
      );
    }
    parts.push(
      `<text x="${x + boxW / 2}" y="${y + PAD + LINE / 2}" text-anchor="middle" dominant-baseline="middle" font-weight="700" font-size="${TITLE}" fill="${active ? '#fff' : color}">${escapeXml(titleOf(s))}</text>`,
    );
    s.ignores.forEach((ig, j) => {
      parts.push(
        `<text x="${x + PAD}" y="${y + PAD + LINE + j * LINE + LINE / 2}" dominant-baseline="middle" fill="${active ? '#fff' : '#5d6578'}">${escapeXml(ignoreLine(ig))}</text>`,
      );
    });
    const loops = selfLoops.get(s.id);
    if (loops) parts.push(label(x + boxW / 2, y - 12, 'middle', `↻ ${loops.join(', ')}${loopNote}`));
  }
  parts.push('</svg>');
  return parts.join('');
}
