// knob dashboard and report: renders the studies list, a study and a trial from the JSON of
// /api (dashboard) or from the data inlined in the page (report, <script id="knob-data">).
// Safety rule: user data (study, parameter and attribute names, categorical values) only ever
// reaches the page as text nodes / textContent or as URL-encoded query values — never as
// markup. Charts are SVG built with createElementNS; each downloads as an .svg file. Past MANY
// marks, a chart paints its marks on a <canvas> laid over its SVG (which keeps the frame, axes,
// labels and data-* counts), and its SVG link makes the all-SVG chart when clicked.
'use strict';
(function () {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const STATES = ['COMPLETE', 'PRUNED', 'FAIL', 'RUNNING', 'WAITING'];
  const STATE_COLORS = {
    COMPLETE: '#1f77b4', PRUNED: '#ff7f0e', FAIL: '#d62728', RUNNING: '#2ca02c', WAITING: '#7f7f7f',
  };
  const POLL_MS = 2000;
  // Past this many marks a chart paints them on a canvas (in its downloaded SVG: a few <path>s,
  // dots, curves and lines merged by colour), and the trial table shows this many rows a page:
  // tens of thousands of SVG elements take seconds to lay out, and even merged into a few paths
  // they cost a path string to build and parse and a raster of each whole path per tile it
  // crosses (bench/dashboard).
  const MANY = 500;
  const app = document.getElementById('app');
  const embedded = document.getElementById('knob-data');

  // ------------------------------------------------------------------ DOM helpers
  function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  // An HTML element; attrs are set with setAttribute (values are never parsed as markup).
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'onclick' || k === 'oninput' || k === 'onchange') node[k] = v;
      else node.setAttribute(k, v);
    }
    return append(node, children);
  }
  function s(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return append(node, children);
  }

  // Replaces the page's content (null children are skipped).
  function show(...children) {
    app.replaceChildren();
    append(app, children);
  }

  function fmt(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'number') {
      if (Number.isInteger(v)) return String(v);
      const a = Math.abs(v);
      return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(+v.toPrecision(5));
    }
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean') return v ? 'True' : 'False';
    return JSON.stringify(v);
  }

  // A tick label cut to `n` characters (the full text is the label's tooltip).
  function shorten(text, n = 16) {
    return text.length > n ? text.slice(0, n - 1) + '…' : text;
  }
  function tickLabel(attrs, tick) {
    return s('text', attrs, tick.label, tick.full ? s('title', {}, tick.full) : null);
  }

  function studyHref(name) {
    return embedded ? '#' : '/study?name=' + encodeURIComponent(name);
  }
  function trialHref(study, number) {
    return embedded ? '#trial=' + number
                    : '/trial?study=' + encodeURIComponent(study) + '&number=' + number;
  }

  // ------------------------------------------------------------------ scales
  // [smallest, largest] of numbers (Infinity, -Infinity when none), in a loop: Math.min(...v)
  // fails past ~100,000 values.
  function extent(values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi];
  }
  function niceStep(span, count) {
    const raw = span / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
  }
  // A scale maps [lo, hi] (log10 if log) to pixels [p0, p1] and gives its ticks.
  function makeScale(values, log, p0, p1, categories) {
    if (categories) {
      const n = categories.length;
      const map = (v) => p0 + (p1 - p0) * (n === 1 ? 0.5 : (v + 0.5) / n);
      return { map, ticks: categories.map((c, i) => ({ v: i, label: shorten(fmt(c)), full: fmt(c) })), ok: () => true };
    }
    const ok = (v) => typeof v === 'number' && isFinite(v) && (!log || v > 0);
    const t = (v) => (log ? Math.log10(v) : v);
    // A loop, not Math.min(...values): no array per call, and no argument-count limit.
    let lo = Infinity, hi = -Infinity;
    for (const v of values) {
      if (!ok(v)) continue;
      const tv = t(v);
      if (tv < lo) lo = tv;
      if (tv > hi) hi = tv;
    }
    if (lo > hi) { lo = 0; hi = 1; }
    if (lo === hi) { lo -= log ? 0.5 : Math.abs(lo) * 0.1 || 1; hi += log ? 0.5 : Math.abs(hi) * 0.1 || 1; }
    const pad = (hi - lo) * 0.05;
    lo -= pad; hi += pad;
    const map = (v) => p0 + (p1 - p0) * (t(v) - lo) / (hi - lo);
    const ticks = [];
    if (log) {
      const step = Math.max(1, Math.ceil((Math.floor(hi) - Math.ceil(lo) + 1) / 6));
      for (let e = Math.ceil(lo); e <= hi; e += step) ticks.push({ v: Math.pow(10, e), label: fmt(Math.pow(10, e)) });
      if (ticks.length < 2) {
        for (let e = Math.floor(lo); e <= Math.ceil(hi); ++e) {
          for (const m of [2, 5]) {
            const x = m * Math.pow(10, e);
            if (Math.log10(x) >= lo && Math.log10(x) <= hi) ticks.push({ v: x, label: fmt(x) });
          }
        }
      }
    } else {
      const step = niceStep(hi - lo, 5);
      for (let x = Math.ceil(lo / step) * step; x <= hi + step * 1e-9; x += step) {
        const r = Math.abs(x) < step * 1e-9 ? 0 : +x.toPrecision(12);
        ticks.push({ v: r, label: fmt(r) });
      }
    }
    return { map, ticks, ok };
  }

  // ------------------------------------------------------------------ marks on a canvas
  // A canvas of W x H CSS pixels (sharp at the screen's pixel ratio) to lay over or under an
  // SVG of that size; `title` is its tooltip (the groups drawn on it).
  function marksCanvas(W, H, title) {
    const ratio = window.devicePixelRatio || 1;
    const canvas = h('canvas', { class: 'marks', width: Math.round(W * ratio), height: Math.round(H * ratio) });
    canvas.style.width = W + 'px';
    canvas.style.height = H + 'px';
    if (title) canvas.title = title;
    const ctx = canvas.getContext('2d');
    ctx.scale(ratio, ratio);
    return { canvas, ctx };
  }
  // Round dots of radius r at pixel positions (xs[i], ys[i]), filled as one shape (overlaps
  // are not darker: as the SVG path of dots).
  function paintDots(ctx, xs, ys, r, color, alpha) {
    ctx.globalAlpha = alpha;
    ctx.fillStyle = color;
    ctx.beginPath();
    for (let i = 0; i < xs.length; ++i) {
      ctx.moveTo(xs[i] + r, ys[i]);
      ctx.arc(xs[i], ys[i], r, 0, 2 * Math.PI);
    }
    ctx.fill();
    ctx.globalAlpha = 1;
  }
  // A plot's legend painted on its canvas, as chart() draws it in SVG.
  function paintLegend(ctx, legend, x, y) {
    ctx.font = '11px sans-serif';
    ctx.textBaseline = 'alphabetic';
    for (const [label, color] of legend) {
      ctx.fillStyle = color;
      ctx.fillRect(x, y - 8, 10, 10);
      ctx.fillStyle = '#333';
      ctx.fillText(label, x + 14, y + 1);
      y += 15;
    }
  }
  // The figure's plot: the SVG and, if any, the canvas over it (or under it).
  function layered(svgNode, layer, under) {
    if (!layer) return svgNode;
    return h('div', { class: 'plot' }, ...(under ? [layer.canvas, svgNode] : [svgNode, layer.canvas]));
  }

  // ------------------------------------------------------------------ a chart with a download link
  // spec: {name, title, xlabel, ylabel, xlog, ylog, xcats, series: [{kind: 'points'|'line'|'step',
  //        points: [{x, y, n}], color, dashed, cut, cls, label, tip}]} (tip: a point's tooltip
  //        text, by default its trial and coordinates); a 'line' series with
  //        `segments` (arrays of points; `points` then holds them all) draws them as one path.
  //        spec.canvas, or a 'points' series of more than MANY points: every series is painted
  //        on a canvas over the SVG (the legend too), unless `exporting` (the SVG link's file).
  //        spec.attrs: more attributes of the <svg>. On a canvas, a series may instead bring
  //        `paint(ctx, xscale, yscale)` (and no points), spec.xvalues / yvalues the
  //        values the axes span, and spec.exportSvg() the SVG the link downloads.
  function chart(spec, exporting) {
    const W = spec.width || 560, H = spec.height || 320;
    const L = 64, R = 16, T = 12, B = 44;
    const xv = [], yv = [];
    for (const se of spec.series) for (const p of se.points) { xv.push(p.x); yv.push(p.y); }
    const xs = makeScale(spec.xvalues || xv, spec.xlog, L, W - R, spec.xcats);
    const ys = makeScale(spec.yvalues || yv, spec.ylog, H - B, T, spec.ycats);
    const root = s('svg', Object.assign({ xmlns: SVG_NS, width: W, height: H, viewBox: `0 0 ${W} ${H}`,
                                          'font-family': 'sans-serif', 'font-size': 11, 'data-chart': spec.name },
                                        spec.attrs || {}));
    const layer = !exporting && (spec.canvas || spec.series.some((se) => se.kind === 'points' && se.points.length > MANY))
      ? marksCanvas(W, H, spec.series.map((se) => se.label).filter(Boolean).join('\n')) : null;
    root.appendChild(s('rect', { x: 0, y: 0, width: W, height: H, fill: 'white' }));
    root.appendChild(s('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'none', stroke: '#888' }));
    for (const tk of xs.ticks) {
      const x = xs.map(tk.v);
      if (x < L - 0.5 || x > W - R + 0.5) continue;
      root.appendChild(s('line', { x1: x, x2: x, y1: T, y2: H - B, stroke: '#eee' }));
      root.appendChild(tickLabel({ x, y: H - B + 14, 'text-anchor': 'middle', fill: '#333' }, tk));
    }
    for (const tk of ys.ticks) {
      const y = ys.map(tk.v);
      if (y < T - 0.5 || y > H - B + 0.5) continue;
      root.appendChild(s('line', { x1: L, x2: W - R, y1: y, y2: y, stroke: '#eee' }));
      root.appendChild(tickLabel({ x: L - 4, y: y + 4, 'text-anchor': 'end', fill: '#333' }, tk));
    }
    root.appendChild(s('text', { x: (L + W - R) / 2, y: H - 8, 'text-anchor': 'middle', fill: '#000' },
                       spec.xlabel || ''));
    root.appendChild(s('text', { x: 12, y: (T + H - B) / 2, 'text-anchor': 'middle', fill: '#000',
                                 transform: `rotate(-90 12 ${(T + H - B) / 2})` }, spec.ylabel || ''));
    let drawn = 0;
    for (const se of spec.series) {
      if (layer && se.paint) {  // a series that paints itself
        se.paint(layer.ctx, xs, ys);
        continue;
      }
      const pts = se.points.filter((p) => xs.ok(p.x) && ys.ok(p.y));
      const color = se.color || '#1f77b4';
      const r = se.r || 3.5;
      if (layer) {
        paintSeries(layer.ctx, se, pts, xs, ys, color, r);
        if (se.kind === 'points') drawn += pts.length;
      } else if (se.kind === 'points' && pts.length > MANY) {  // one path of round dots
        const d = pts.map((p) => `M${xs.map(p.x).toFixed(1)},${ys.map(p.y).toFixed(1)}h0`).join('');
        root.appendChild(s('path', { d, fill: 'none', stroke: color, 'stroke-width': 2 * r, 'stroke-linecap': 'round',
                                     'stroke-opacity': 0.85, class: (se.cls || 'pt') + ' dots', 'data-count': pts.length }));
        drawn += pts.length;
      } else if (se.kind === 'points') {
        for (const p of pts) {
          const c = s('circle', { cx: xs.map(p.x), cy: ys.map(p.y), r, fill: color,
                                  'fill-opacity': 0.85, class: se.cls || 'pt', 'data-trial': p.n });
          c.appendChild(s('title', {}, se.tip ? se.tip(p) : `trial ${p.n}: (${fmt(p.x)}, ${fmt(p.y)})`));
          root.appendChild(c);
          ++drawn;
        }
      } else if (pts.length) {
        let d = '', cuts = '';
        for (const segment of se.segments || [pts]) {
          const seg = se.segments ? segment.filter((p) => xs.ok(p.x) && ys.ok(p.y)) : segment;
          seg.forEach((p, i) => {
            const x = xs.map(p.x), y = ys.map(p.y);
            if (i === 0) d += `M${x},${y}`;
            else if (se.kind === 'step') d += `H${x}V${y}`;
            else d += `L${x},${y}`;
          });
          if (se.cut && seg.length) {  // a pruned curve ends in a cross where it was stopped
            const last = seg[seg.length - 1], x = xs.map(last.x), y = ys.map(last.y);
            cuts += `M${x - 4},${y - 4}L${x + 4},${y + 4}M${x - 4},${y + 4}L${x + 4},${y - 4}`;
          }
        }
        const path = s('path', { d, fill: 'none', stroke: color, 'stroke-width': se.width || 1.5,
                                 'stroke-opacity': se.opacity || 1, class: se.cls || 'line' });
        if (se.dashed) path.setAttribute('stroke-dasharray', '4 3');
        if (se.n !== undefined) path.setAttribute('data-trial', se.n);
        if (se.label) path.appendChild(s('title', {}, se.label));
        root.appendChild(path);
        if (cuts) {
          const cut = s('path', { d: cuts, stroke: color, 'stroke-width': 2, class: 'cut' });
          if (se.n !== undefined) cut.setAttribute('data-trial', se.n);
          root.appendChild(cut);
        }
      }
    }
    root.setAttribute('data-points', drawn);
    if (spec.legend && layer) paintLegend(layer.ctx, spec.legend, W - R - 110, T + 14);
    else if (spec.legend) {
      let y = T + 14;
      for (const [label, color] of spec.legend) {
        root.appendChild(s('rect', { x: W - R - 110, y: y - 8, width: 10, height: 10, fill: color }));
        root.appendChild(s('text', { x: W - R - 96, y: y + 1, fill: '#333' }, label));
        y += 15;
      }
    }
    return figure(spec.title, root, spec.name, layer, false,
                  layer ? spec.exportSvg || (() => chart(spec, true).querySelector('svg')) : null);
  }

  // One series of chart() painted on its canvas: what the SVG branch draws, in the same order.
  function paintSeries(ctx, se, pts, xs, ys, color, r) {
    if (se.kind === 'points') {
      paintDots(ctx, pts.map((p) => xs.map(p.x)), pts.map((p) => ys.map(p.y)), r, color, 0.85);
      return;
    }
    if (!pts.length) return;
    ctx.strokeStyle = color;
    ctx.lineWidth = se.width || 1.5;
    ctx.globalAlpha = se.opacity || 1;
    ctx.setLineDash(se.dashed ? [4, 3] : []);
    ctx.beginPath();
    const lasts = [];
    for (const segment of se.segments || [pts]) {
      const seg = se.segments ? segment.filter((p) => xs.ok(p.x) && ys.ok(p.y)) : segment;
      let py = 0;
      seg.forEach((p, i) => {
        const x = xs.map(p.x), y = ys.map(p.y);
        if (i === 0) ctx.moveTo(x, y);
        else if (se.kind === 'step') { ctx.lineTo(x, py); ctx.lineTo(x, y); }
        else ctx.lineTo(x, y);
        py = y;
      });
      if (se.cut && seg.length) lasts.push(seg[seg.length - 1]);
    }
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    if (lasts.length) {  // a pruned curve ends in a cross where it was stopped
      ctx.lineWidth = 2;
      ctx.beginPath();
      for (const last of lasts) {
        const x = xs.map(last.x), y = ys.map(last.y);
        ctx.moveTo(x - 4, y - 4); ctx.lineTo(x + 4, y + 4); ctx.moveTo(x - 4, y + 4); ctx.lineTo(x + 4, y - 4);
      }
      ctx.stroke();
    }
  }

  // A titled box holding an SVG (with `layer`, its canvas of marks over it, or `under` it) and
  // a link that downloads it: the SVG shown, or the one `exportSvg()` makes (all in SVG).
  function figure(title, svgNode, name, layer, under, exportSvg) {
    const link = h('a', { href: '#', class: 'svg-link', download: (name || 'chart') + '.svg' }, 'SVG');
    link.onclick = () => {
      const text = new XMLSerializer().serializeToString(exportSvg ? exportSvg() : svgNode);
      link.href = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    };
    return h('figure', { class: 'chart' }, h('figcaption', {}, title, ' ', link), layered(svgNode, layer, under));
  }

  // ------------------------------------------------------------------ study charts
  function paramInfo(p) {
    const d = p.distribution, a = d.attributes || {};
    return { name: p.name, log: !!a.log, choices: d.name === 'CategoricalDistribution' ? a.choices : null };
  }
  // The value of a parameter as plotted: the number, or the index of a categorical choice.
  function plotValue(info, value) {
    if (value === undefined) return undefined;
    if (!info.choices) return value;
    const key = JSON.stringify(value);
    return info.choices.findIndex((c) => JSON.stringify(c) === key);
  }
  function objectiveName(study, i) {
    return study.directions.length === 1 ? 'objective value' : `objective ${i}`;
  }

  function historyCharts(study) {
    const complete = study.trials.filter((t) => t.state === 'COMPLETE' && t.values);
    return study.directions.map((dir, i) => {
      const points = complete.map((t) => ({ x: t.number, y: t.values[i], n: t.number }));
      const series = [{ kind: 'points', points, cls: 'pt' }];
      if (study.directions.length === 1) {
        const best = [];
        let b = null;
        for (const p of points) {
          if (p.y === null) continue;
          if (b === null || (dir === 'MAXIMIZE' ? p.y > b : p.y < b)) b = p.y;
          best.push({ x: p.x, y: b, n: p.n });
        }
        series.push({ kind: 'step', points: best, color: '#d62728', cls: 'best', label: 'best so far' });
      }
      return chart({ name: 'history' + (i || ''), title: 'Optimization history' + (study.directions.length > 1 ? ` (objective ${i})` : ''),
                     xlabel: 'trial', ylabel: objectiveName(study, i), series,
                     legend: study.directions.length === 1 ? [['trials', '#1f77b4'], ['best so far', '#d62728']] : null });
    });
  }

  // Past MANY curves, painted on a canvas straight from the trials (no point objects: 100,000
  // at 10,000 trials), one path per state; `exporting` (the SVG link) or fewer: SVG paths.
  function intermediateChart(trials, name, exporting) {
    const reported = trials.filter((t) => Object.keys(t.intermediate_values).length);
    const legend = STATES.filter((st) => reported.some((t) => t.state === st))
      .map((st) => [st === 'PRUNED' ? 'PRUNED (×: stopped)' : st, STATE_COLORS[st]]);
    if (reported.length > MANY && !exporting) {
      // The steps of a trial in order: integer keys come in ascending order, others sorted.
      const steps = (t) => {
        const keys = Object.keys(t.intermediate_values);
        for (let i = 1; i < keys.length; ++i) {
          if (Number(keys[i]) < Number(keys[i - 1])) return keys.sort((a, b) => Number(a) - Number(b));
        }
        return keys;
      };
      let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
      for (const t of reported) {
        for (const step in t.intermediate_values) {
          const x = Number(step), y = t.intermediate_values[step];
          if (x < xlo) xlo = x;
          if (x > xhi) xhi = x;
          if (typeof y === 'number' && isFinite(y)) { if (y < ylo) ylo = y; if (y > yhi) yhi = y; }
        }
      }
      const groups = STATES.map((st) => reported.filter((t) => t.state === st)).filter((group) => group.length);
      const paint = (ctx, xs, ys) => {
        for (const group of groups) {
          const lasts = [];
          ctx.strokeStyle = STATE_COLORS[group[0].state];
          ctx.lineWidth = 1;
          ctx.globalAlpha = 0.3;
          ctx.beginPath();
          for (const t of group) {
            let n = 0, x = 0, y = 0;
            for (const step of steps(t)) {
              const v = t.intermediate_values[step];
              if (!ys.ok(v)) continue;
              x = xs.map(Number(step)); y = ys.map(v);
              if (n++) ctx.lineTo(x, y); else ctx.moveTo(x, y);
            }
            if (n && group[0].state === 'PRUNED') lasts.push(x, y);
          }
          ctx.stroke();
          ctx.globalAlpha = 1;
          ctx.lineWidth = 2;
          ctx.beginPath();
          for (let i = 0; i < lasts.length; i += 2) {  // a pruned curve ends in a cross where it was stopped
            const cx = lasts[i], cy = lasts[i + 1];
            ctx.moveTo(cx - 4, cy - 4); ctx.lineTo(cx + 4, cy + 4); ctx.moveTo(cx - 4, cy + 4); ctx.lineTo(cx + 4, cy - 4);
          }
          ctx.stroke();
        }
      };
      return chart({ name, title: 'Intermediate values', xlabel: 'step', ylabel: 'intermediate value', canvas: true,
                     xvalues: [xlo, xhi], yvalues: [ylo, yhi], attrs: { 'data-curves': reported.length }, legend,
                     series: [{ paint, points: [], label: groups.map((g) => `${g.length} ${g[0].state} trials`).join('\n') }],
                     exportSvg: () => intermediateChart(trials, name, true).querySelector('svg') });
    }
    let series = [];
    for (const t of trials) {
      const points = [];
      let sorted = true;
      for (const step in t.intermediate_values) {
        const x = Number(step);
        if (points.length && x < points[points.length - 1].x) sorted = false;
        points.push({ x, y: t.intermediate_values[step], n: t.number });
      }
      if (!points.length) continue;
      if (!sorted) points.sort((a, b) => a.x - b.x);  // integer keys come in order already
      series.push({ kind: 'line', points, n: t.number, state: t.state, color: STATE_COLORS[t.state], cut: t.state === 'PRUNED',
                    opacity: 0.8, label: `trial ${t.number} (${t.state})` });
    }
    const curves = series.length;
    if (curves > MANY) {  // one path per state
      series = STATES.map((st) => series.filter((se) => se.state === st)).filter((group) => group.length)
        .map((group) => ({ kind: 'line', segments: group.map((se) => se.points), points: group.flatMap((se) => se.points),
                           color: group[0].color, cut: group[0].cut, opacity: 0.3, width: 1,
                           label: `${group.length} ${group[0].state} trials` }));
    }
    return chart({ name, title: 'Intermediate values', xlabel: 'step', ylabel: 'intermediate value', series,
                   attrs: { 'data-curves': curves }, legend });
  }

  function sliceCharts(study, infos) {
    const complete = study.trials.filter((t) => t.state === 'COMPLETE' && t.values);
    return infos.map((info) => {
      const points = complete.filter((t) => info.name in t.params)
        .map((t) => ({ x: plotValue(info, t.params[info.name]), y: t.values[0], n: t.number }));
      return chart({ name: 'slice:' + info.name, title: 'Slice: ' + info.name, xlabel: info.name + (info.log ? ' (log)' : ''),
                     ylabel: objectiveName(study, 0), xlog: info.log, xcats: info.choices, width: 420, height: 280,
                     series: [{ kind: 'points', points }] });
    });
  }

  // The Pareto front for any number of objectives: one chart for two, a scatter-plot matrix of
  // every pair (objective i across, j down, the lower triangle) beyond. Infeasible trials
  // (constraint values > 0) are drawn apart, smaller and orange, and are never on the front.
  function paretoCharts(study) {
    const complete = study.trials.filter((t) => t.state === 'COMPLETE' && t.values);
    const front = new Set(study.best_trials);
    const infeasible = complete.filter((t) => t.feasible === false);
    const feasible = complete.filter((t) => t.feasible !== false);
    const tips = (p) => `trial ${p.n}: (${p.t.values.map(fmt).join(', ')})` +
      (p.t.constraints ? ` · constraints ${p.t.constraints.map(fmt).join(', ')}` : '');
    const pair = (i, j, name, size) => {
      const pt = (t) => ({ x: t.values[i], y: t.values[j], n: t.number, t });
      const series = [
        { kind: 'points', points: feasible.filter((t) => !front.has(t.number)).map(pt), color: '#9ab', tip: tips },
        { kind: 'points', points: feasible.filter((t) => front.has(t.number)).map(pt), color: '#d62728', cls: 'pt front', tip: tips }];
      const legend = [['dominated', '#9ab'], ['Pareto front', '#d62728']];
      if (infeasible.length) {
        series.push({ kind: 'points', points: infeasible.map(pt), color: '#ff7f0e', cls: 'pt infeasible', r: 2.5, tip: tips });
        legend.push(['infeasible', '#ff7f0e']);
      }
      return chart({ name, title: `Pareto front: ${objectiveName(study, i)} × ${objectiveName(study, j)}`,
                     xlabel: objectiveName(study, i), ylabel: objectiveName(study, j), series, legend,
                     width: size, height: size === 560 ? 320 : size * 0.8 });
    };
    const k = study.directions.length;
    if (k === 2) return [pair(0, 1, 'pareto', 560)];
    const cells = [];
    for (let j = 1; j < k; ++j) {
      for (let i = 0; i < k - 1; ++i) cells.push(i < j ? pair(i, j, `pareto:${i},${j}`, 300) : h('div', {}));
    }
    const matrix = h('div', { class: 'pareto-matrix', 'data-objectives': k }, ...cells);
    matrix.style.display = 'grid';
    matrix.style.gridTemplateColumns = `repeat(${k - 1}, auto)`;
    matrix.style.flexBasis = '100%';
    matrix.style.gap = '8px';
    return [matrix];
  }

  // The hypervolume of the feasible COMPLETE trials so far, one point per COMPLETE trial, with
  // the reference point the server chose (study.hypervolume; null for one objective).
  function hypervolumeChart(study) {
    const hv = study.hypervolume;
    if (!hv || !hv.values.length) return null;
    const points = hv.values.map((v) => ({ x: v.number, y: v.value, n: v.number }));
    return chart({ name: 'hypervolume', title: 'Hypervolume history (reference ' + hv.reference.map(fmt).join(', ') + ')',
                   xlabel: 'trial', ylabel: 'hypervolume',
                   series: [{ kind: 'step', points, color: '#2ca02c', cls: 'hv', label: 'hypervolume' },
                            { kind: 'points', points, color: '#2ca02c', r: 2 }] });
  }

  // Past MANY trials the lines are painted on a canvas under the SVG's axes (`exporting`: all
  // in SVG, one path per colour band).
  function parallelChart(study, infos, exporting) {
    const axes = infos.map((info) => ({ label: info.name, info, get: (t) => plotValue(info, t.params[info.name]) }));
    study.directions.forEach((d, i) => axes.push({ label: objectiveName(study, i), info: {}, get: (t) => t.values[i] }));
    const trials = study.trials.filter((t) => t.state === 'COMPLETE' && t.values &&
                                              axes.every((a) => a.get(t) !== undefined && a.get(t) !== null));
    const W = Math.max(560, 130 * axes.length), H = 320, T = 30, B = 40, L = 100, R = 50;
    const root = s('svg', { xmlns: SVG_NS, width: W, height: H, viewBox: `0 0 ${W} ${H}`,
                            'font-family': 'sans-serif', 'font-size': 11, 'data-chart': 'parallel' });
    const many = trials.length > MANY, bins = new Map();  // many: one path per colour bin
    const layer = many && !exporting ? marksCanvas(W, H, `${trials.length} trials, coloured by value`) : null;
    if (!layer) root.appendChild(s('rect', { x: 0, y: 0, width: W, height: H, fill: 'white' }));  // else the figure's
    const xAt = (i) => L + (W - L - R) * (axes.length === 1 ? 0.5 : i / (axes.length - 1));
    const scales = axes.map((a) => makeScale(trials.map(a.get), a.info.log, H - B, T, a.info.choices));
    const objective = axes.length - study.directions.length;
    const values = trials.map((t) => t.values[0]).filter((v) => v !== null);
    const [vlo, vhi] = extent(values);
    const colour = (v) => {
      let f = vhi > vlo ? (v - vlo) / (vhi - vlo) : 0.5;
      if (study.directions[0] === 'MAXIMIZE') f = 1 - f;  // good trials blue, bad red
      return `rgb(${Math.round(40 + 200 * f)},${Math.round(100 + 40 * (1 - Math.abs(f - 0.5) * 2))},${Math.round(220 - 180 * f)})`;
    };
    for (const t of trials) {
      const ys = axes.map((a, i) => scales[i].map(a.get(t)));
      if (ys.some((y) => !isFinite(y))) continue;
      if (layer) {
        const bin = vhi > vlo ? Math.round(16 * (t.values[0] - vlo) / (vhi - vlo)) : 0;
        if (!bins.has(bin)) bins.set(bin, []);
        bins.get(bin).push(ys);
        continue;
      }
      const d = ys.map((y, i) => `${i ? 'L' : 'M'}${xAt(i)},${many ? y.toFixed(1) : y}`).join('');
      if (many) {
        const bin = vhi > vlo ? Math.round(16 * (t.values[0] - vlo) / (vhi - vlo)) : 0;
        bins.set(bin, (bins.get(bin) || '') + d);
        continue;
      }
      const path = s('path', { d, fill: 'none', stroke: colour(t.values[0]), 'stroke-opacity': 0.7,
                               'stroke-width': 1.3, class: 'line', 'data-trial': t.number });
      path.appendChild(s('title', {}, `trial ${t.number}: ${fmt(t.values[0])}`));
      root.appendChild(path);
    }
    for (const [bin, lines] of bins) {
      const stroke = colour(vlo + (vhi - vlo) * bin / 16);
      if (!layer) {
        root.appendChild(s('path', { d: lines, fill: 'none', stroke, 'stroke-opacity': 0.3, 'stroke-width': 1, class: 'lines' }));
        continue;
      }
      const ctx = layer.ctx;
      ctx.strokeStyle = stroke;
      ctx.globalAlpha = 0.3;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (const ys of lines) ys.forEach((y, i) => (i ? ctx.lineTo(xAt(i), y) : ctx.moveTo(xAt(i), y)));
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
    axes.forEach((a, i) => {
      const x = xAt(i);
      root.appendChild(s('line', { x1: x, x2: x, y1: T, y2: H - B, stroke: i >= objective ? '#000' : '#555', 'stroke-width': 1.5 }));
      root.appendChild(s('text', { x, y: H - B + 18, 'text-anchor': 'middle', fill: '#000' }, a.label + (a.info.log ? ' (log)' : '')));
      for (const tk of scales[i].ticks) {
        const y = scales[i].map(tk.v);
        if (y < T - 0.5 || y > H - B + 0.5) continue;
        root.appendChild(s('line', { x1: x - 3, x2: x, y1: y, y2: y, stroke: '#555' }));
        root.appendChild(tickLabel({ x: x - 5, y: y + 4, 'text-anchor': 'end', fill: '#333', 'font-size': 10 }, tk));
      }
    });
    root.setAttribute('data-lines', trials.length);
    return figure('Parallel coordinates', root, 'parallel', layer, true,
                  layer ? () => parallelChart(study, infos, true).querySelector('svg') : null);
  }

  // Parameter importance (computed by the server): a horizontal bar per parameter, largest on
  // top, or the reason there is none.
  function importanceChart(importance) {
    const title = `Parameter importance (${importance.evaluator}, ${importance.n_trials} COMPLETE trials)`;
    if (!importance.params) {
      return h('figure', { class: 'chart', id: 'importance-skipped' }, h('figcaption', {}, title),
               h('p', { class: 'summary' }, 'not computed: ', importance.reason));
    }
    const rows = importance.params, bar = 20, W = 560, L = 130, R = 60, T = 12, B = 36;
    const H = T + B + bar * rows.length;
    const root = s('svg', { xmlns: SVG_NS, width: W, height: H, viewBox: `0 0 ${W} ${H}`,
                            'font-family': 'sans-serif', 'font-size': 11, 'data-chart': 'importance' });
    root.appendChild(s('rect', { x: 0, y: 0, width: W, height: H, fill: 'white' }));
    const xs = makeScale([0, 1], false, L, W - R);
    const x0 = xs.map(0);
    for (const tk of xs.ticks) {
      const x = xs.map(tk.v);
      if (tk.v < 0 || tk.v > 1) continue;
      root.appendChild(s('line', { x1: x, x2: x, y1: T, y2: H - B, stroke: '#eee' }));
      root.appendChild(tickLabel({ x, y: H - B + 14, 'text-anchor': 'middle', fill: '#333' }, tk));
    }
    rows.forEach((p, i) => {
      const y = T + i * bar;
      const r = s('rect', { x: x0, y: y + 3, width: Math.max(0, xs.map(p.importance) - x0), height: bar - 6,
                            fill: '#1f77b4', class: 'bar', 'data-param': p.name });
      r.appendChild(s('title', {}, `${p.name}: ${fmt(p.importance)}`));
      root.appendChild(r);
      root.appendChild(tickLabel({ x: L - 4, y: y + bar / 2 + 4, 'text-anchor': 'end', fill: '#333' },
                                 { label: shorten(p.name), full: p.name }));
      root.appendChild(s('text', { x: xs.map(p.importance) + 4, y: y + bar / 2 + 4, fill: '#333' }, fmt(p.importance)));
    });
    root.appendChild(s('text', { x: (L + W - R) / 2, y: H - 8, 'text-anchor': 'middle', fill: '#000' },
                       'importance (share of the objective\'s variance)'));
    root.setAttribute('data-bars', rows.length);
    return figure(title, root, 'importance');
  }

  // ------------------------------------------------------------------ contour and EDF
  // ColorBrewer's "Blues" (Optuna's colour scale): f in [0, 1], 0 lightest, 1 darkest.
  const BLUES = [[247, 251, 255], [222, 235, 247], [198, 219, 239], [158, 202, 225], [107, 174, 214],
                 [66, 146, 198], [33, 113, 181], [8, 81, 156], [8, 48, 107]];
  function blues(f) {
    const x = Math.min(1, Math.max(0, isFinite(f) ? f : 0)) * (BLUES.length - 1);
    const i = Math.min(Math.floor(x), BLUES.length - 2), w = x - i;
    return 'rgb(' + [0, 1, 2].map((c) => Math.round(BLUES[i][c] * (1 - w) + BLUES[i + 1][c] * w)).join(',') + ')';
  }
  // The two parameters a contour shows: the two most important, else the first two.
  function contourParams(study, infos) {
    const names = study.importance && study.importance.params ? study.importance.params.map((p) => p.name) : [];
    const ranked = names.map((n) => infos.find((i) => i.name === n)).filter(Boolean);
    for (const info of infos) if (!ranked.includes(info)) ranked.push(info);
    return ranked.slice(0, 2);
  }
  // Contour (knob plot contour): objective 0 interpolated by inverse distance weighting (power
  // 2, in the axes' units: log10 for log parameters, the index of a categorical choice) onto a
  // grid of cells, darker is better; the COMPLETE trials as dots (past MANY, painted on a
  // canvas over the SVG unless `exporting`).
  function contourChart(study, infos, exporting) {
    const [xi, yi] = contourParams(study, infos);
    const trials = study.trials.filter((t) => t.state === 'COMPLETE' && t.values && isFinite(t.values[0]) &&
                                              xi.name in t.params && yi.name in t.params);
    const W = 560, H = 380, L = 64, R = 16, T = 12, B = 44, N = 24;
    const pts = trials.map((t) => ({ x: plotValue(xi, t.params[xi.name]), y: plotValue(yi, t.params[yi.name]),
                                     v: t.values[0], n: t.number }));
    const xs = makeScale(pts.map((p) => p.x), xi.log, L, W - R, xi.choices);
    const ys = makeScale(pts.map((p) => p.y), yi.log, H - B, T, yi.choices);
    const drawn = pts.filter((p) => xs.ok(p.x) && ys.ok(p.y));
    const root = s('svg', { xmlns: SVG_NS, width: W, height: H, viewBox: `0 0 ${W} ${H}`,
                            'font-family': 'sans-serif', 'font-size': 11, 'data-chart': 'contour' });
    root.appendChild(s('rect', { x: 0, y: 0, width: W, height: H, fill: 'white' }));
    const values = drawn.map((p) => p.v);
    const [lo, hi] = extent(values);
    const maximize = study.directions[0] === 'MAXIMIZE';
    const colour = (v) => blues(hi > lo ? (maximize ? (v - lo) / (hi - lo) : (hi - v) / (hi - lo)) : 0.5);
    // The trials in the unit square, in typed arrays: the loop below runs N * N * trials times.
    const n = drawn.length, pu = new Float64Array(n), pw = new Float64Array(n), pv = new Float64Array(n);
    drawn.forEach((p, k) => { pu[k] = (xs.map(p.x) - L) / (W - R - L); pw[k] = (ys.map(p.y) - T) / (H - B - T); pv[k] = p.v; });
    const cw = (W - R - L) / N, ch = (H - B - T) / N;
    const cells = s('g', { class: 'cells' });
    for (let j = 0; n && j < N; ++j) {
      for (let i = 0; i < N; ++i) {
        const cu = (i + 0.5) / N, cv = (j + 0.5) / N;
        let sum = 0, weights = 0, exact = null;
        for (let k = 0; k < n; ++k) {
          const du = pu[k] - cu, dw = pw[k] - cv, d2 = du * du + dw * dw;
          if (d2 < 1e-18) { exact = pv[k]; break; }
          const w = 1 / d2;
          sum += pv[k] * w; weights += w;
        }
        cells.appendChild(s('rect', { x: L + i * cw, y: T + j * ch, width: cw + 0.5, height: ch + 0.5,
                                      fill: colour(exact !== null ? exact : sum / weights), class: 'cell' }));
      }
    }
    root.appendChild(cells);
    root.appendChild(s('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'none', stroke: '#888' }));
    for (const tk of xs.ticks) {
      const x = xs.map(tk.v);
      if (x < L - 0.5 || x > W - R + 0.5) continue;
      root.appendChild(tickLabel({ x, y: H - B + 14, 'text-anchor': 'middle', fill: '#333' }, tk));
    }
    for (const tk of ys.ticks) {
      const y = ys.map(tk.v);
      if (y < T - 0.5 || y > H - B + 0.5) continue;
      root.appendChild(tickLabel({ x: L - 4, y: y + 4, 'text-anchor': 'end', fill: '#333' }, tk));
    }
    root.appendChild(s('text', { x: (L + W - R) / 2, y: H - 8, 'text-anchor': 'middle', fill: '#000', class: 'xlabel' },
                       xi.name + (xi.log ? ' (log)' : '')));
    root.appendChild(s('text', { x: 12, y: (T + H - B) / 2, 'text-anchor': 'middle', fill: '#000', class: 'ylabel',
                                 transform: `rotate(-90 12 ${(T + H - B) / 2})` }, yi.name + (yi.log ? ' (log)' : '')));
    const layer = drawn.length > MANY && !exporting ? marksCanvas(W, H, `${drawn.length} trials`) : null;
    if (layer) {  // round dots, white-rimmed by wider ones beneath
      const px = drawn.map((p) => xs.map(p.x)), py = drawn.map((p) => ys.map(p.y));
      paintDots(layer.ctx, px, py, 3.75, '#fff', 1);
      paintDots(layer.ctx, px, py, 3, '#000', 1);
    } else if (drawn.length > MANY) {  // one path of round dots, white-rimmed by a wider one beneath
      const d = drawn.map((p) => `M${xs.map(p.x).toFixed(1)},${ys.map(p.y).toFixed(1)}h0`).join('');
      for (const [stroke, width] of [['#fff', 7.5], ['#000', 6]]) {
        root.appendChild(s('path', { d, fill: 'none', stroke, 'stroke-width': width, 'stroke-linecap': 'round',
                                     class: 'pt dots', 'data-count': drawn.length }));
      }
    }
    for (const p of drawn.length > MANY ? [] : drawn) {
      const c = s('circle', { cx: xs.map(p.x), cy: ys.map(p.y), r: 3, fill: '#000', stroke: '#fff', 'stroke-width': 0.75,
                              class: 'pt', 'data-trial': p.n });
      c.appendChild(s('title', {}, `trial ${p.n}: ${fmt(p.v)}`));
      root.appendChild(c);
    }
    root.setAttribute('data-points', drawn.length);
    root.setAttribute('data-cells', drawn.length ? N * N : 0);
    const scale = drawn.length ? ` — darker is better: ${fmt(maximize ? lo : hi)} to ${fmt(maximize ? hi : lo)}` : '';
    return figure(`Contour: ${xi.name} × ${yi.name} (${objectiveName(study, 0)}${scale})`, root, 'contour', layer, false,
                  layer ? () => contourChart(study, infos, true).querySelector('svg') : null);
  }

  // Empirical distribution function (knob plot edf): per objective, the fraction of COMPLETE
  // trials whose value is <= x, at 100 x values from the lowest value to the highest (Optuna's).
  function edfCharts(study) {
    return study.directions.map((dir, i) => {
      const values = study.trials.filter((t) => t.state === 'COMPLETE' && t.values && isFinite(t.values[i]))
        .map((t) => t.values[i]).sort((a, b) => a - b);
      const points = [];
      for (let k = 0; values.length && k < 100; ++k) {
        const x = k === 99 ? values[values.length - 1] : values[0] + (values[values.length - 1] - values[0]) * k / 99;
        let below = 0;
        while (below < values.length && values[below] <= x) ++below;
        points.push({ x, y: below / values.length });
      }
      const c = chart({ name: 'edf' + (i || ''), title: 'Empirical distribution (EDF)' + (study.directions.length > 1 ? ` (objective ${i})` : ''),
                        xlabel: objectiveName(study, i), ylabel: 'cumulative probability',
                        series: [{ kind: 'line', points, cls: 'edf' }] });
      c.querySelector('svg').setAttribute('data-samples', points.length);
      c.querySelector('svg').setAttribute('data-trials', values.length);
      return c;
    });
  }

  // ------------------------------------------------------------------ finder runs
  // Runs of knob lr-find / batch-find --storage kept with the study as user attributes
  // "knob:lr_find:<n>" and "knob:batch_find:<n>" (their JSON: knob/run/finder_runs.h).
  function finderCharts(study) {
    return Object.entries(study.user_attrs || {})
      .map(([key, run]) => ({ key, run, m: /^knob:(lr_find|batch_find):(\d+)$/.exec(key) }))
      .filter((r) => r.m && r.run !== null && typeof r.run === 'object')
      .sort((a, b) => a.m[1].localeCompare(b.m[1]) || a.m[2] - b.m[2])
      .map(({ key, run, m }) => (m[1] === 'lr_find' ? lrFindChart : batchFindChart)(key, run, m[2]));
  }

  // As knob lr-find's plot: the loss and its smoothed curve over the learning rate (the loss
  // axis stops at 1.5 x the first smoothed loss), the suggestions marked.
  function lrFindChart(key, run, n) {
    const lrs = run.lr || [], smoothed = run.smoothed || [], top = 1.5 * smoothed[0];
    const curve = (ys) => lrs.map((x, i) => ({ x, y: ys[i], n: i })).filter((p) => p.y !== null && !(p.y > top));
    const marks = (run.suggestions || []).map((g) => ({ x: g.lr, y: smoothed[g.index], n: g.name }));
    const c = chart({ name: key, title: `Learning-rate range test ${n}`, xlabel: 'learning rate (log)', ylabel: 'loss', xlog: true,
                      series: [{ kind: 'line', points: curve(run.loss || []), color: '#bbb', width: 1, cls: 'line raw' },
                               { kind: 'line', points: curve(smoothed), cls: 'line smoothed' },
                               { kind: 'points', points: marks, color: '#d62728', cls: 'pt suggestion',
                                 tip: (p) => `${p.n}: ${fmt(p.x)}` }],
                      legend: [['loss', '#bbb'], ['smoothed', '#1f77b4'], ['suggestions', '#d62728']] });
    c.appendChild(h('p', { class: 'note' }, run.chosen ? `suggested lr ${fmt(run.suggested_lr)} (${run.chosen})` : 'no suggestion',
      ...(run.suggestions || []).map((g) => ` · ${g.name} ${fmt(g.lr)}`),
      ` · batch ${fmt(run.batch_size)} · ${lrs.length} steps, ${fmt(run.stop_reason)}`));
    return c;
  }

  // As knob batch-find's plot: the throughput of every batch size that fit, the recommended
  // size marked.
  function batchFindChart(key, run, n) {
    const fit = (run.trials || []).filter((t) => t.fits && t.samples_per_second !== null)
      .map((t) => ({ x: t.size, y: t.samples_per_second, n: t.size })).sort((a, b) => a.x - b.x);
    const tip = (p) => `batch ${p.x}: ${fmt(p.y)} samples/s`;
    const c = chart({ name: key, title: `Batch-size finder ${n}`, xlabel: 'batch size (log)', ylabel: 'samples/s', xlog: true,
                      series: [{ kind: 'line', points: fit }, { kind: 'points', points: fit, tip },
                               { kind: 'points', points: fit.filter((p) => p.x === run.recommended), color: '#d62728',
                                 cls: 'pt recommended', r: 5, tip }],
                      legend: [['fits the budget', '#1f77b4'], ['recommended', '#d62728']] });
    c.appendChild(h('p', { class: 'note' }, `recommended batch ${fmt(run.recommended)} (${fmt(run.rule)}), lr ${fmt(run.lr)}`,
      ` · largest that fits ${fmt(run.largest_fitting)} of ${(run.trials || []).length} tried`,
      ` · B_simple ${fmt(run.b_simple)}`, run.noise_note ? ` (${run.noise_note})` : ''));
    return c;
  }

  // ------------------------------------------------------------------ the trial table
  const tableState = { key: 'number', desc: false, filter: '', state: '', shown: MANY };

  function trialTable(study, infos) {
    const nObj = study.directions.length;
    const columns = [
      { key: 'number', label: '#', get: (t) => t.number },
      { key: 'state', label: 'state', get: (t) => t.state },
      ...study.directions.map((d, i) => ({ key: 'value' + i, label: nObj === 1 ? 'value' : 'value ' + i,
                                           get: (t) => (t.values ? t.values[i] : null) })),
      ...infos.map((info) => ({ key: 'param:' + info.name, label: info.name, get: (t) => t.params[info.name] })),
      { key: 'steps', label: 'steps', get: (t) => Object.keys(t.intermediate_values).length },
      { key: 'duration', label: 'duration (s)', get: (t) => t.duration },
    ];
    const tbody = h('tbody', {});
    const count = h('span', { class: 'count' });
    const more = h('button', { type: 'button', id: 'more-trials' });
    more.onclick = () => { tableState.shown += MANY; fill(); };
    const fill = () => {
      const col = columns.find((c) => c.key === tableState.key) || columns[0];
      const needle = tableState.filter.toLowerCase();
      const rows = study.trials.filter((t) => (!tableState.state || t.state === tableState.state) &&
        (!needle || columns.some((c) => fmt(c.get(t)).toLowerCase().includes(needle))));
      const cmp = (a, b) => {
        const x = col.get(a), y = col.get(b);
        if (x === y) return a.number - b.number;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        const r = typeof x === 'number' && typeof y === 'number' ? x - y : fmt(x).localeCompare(fmt(y));
        return tableState.desc ? -r : r;
      };
      rows.sort(cmp);
      const shown = rows.slice(0, tableState.shown);  // a page at a time: MANY rows more per click
      more.hidden = shown.length === rows.length;
      more.textContent = `show ${Math.min(MANY, rows.length - shown.length)} more`;
      tbody.replaceChildren(...shown.map((t) => h('tr', { 'data-trial': t.number },
        ...columns.map((c, i) => h('td', { class: c.key === 'state' ? 'state-' + t.state : '' },
          i === 0 ? h('a', { href: trialHref(study.name, t.number) }, String(t.number)) : fmt(c.get(t)))))));
      count.textContent = `${rows.length} of ${study.trials.length} trials` +
                          (shown.length < rows.length ? `, the first ${shown.length} shown` : '');
    };
    const head = h('tr', {}, ...columns.map((c) => {
      const th = h('th', { 'data-key': c.key }, c.label, tableState.key === c.key ? (tableState.desc ? ' ▼' : ' ▲') : '');
      th.onclick = () => {
        tableState.desc = tableState.key === c.key ? !tableState.desc : false;
        tableState.key = c.key;
        for (const other of head.children) other.lastChild.textContent = '';
        th.lastChild.textContent = tableState.desc ? ' ▼' : ' ▲';
        fill();
      };
      return th;
    }));
    const filter = h('input', { type: 'search', placeholder: 'filter', value: tableState.filter, id: 'trial-filter' });
    filter.oninput = () => { tableState.filter = filter.value; fill(); };
    const state = h('select', { id: 'state-filter' }, h('option', { value: '' }, 'all states'),
                    ...STATES.map((st) => h('option', { value: st }, st)));
    state.value = tableState.state;
    state.onchange = () => { tableState.state = state.value; fill(); };
    fill();
    return h('section', { class: 'trials' }, h('h2', {}, 'Trials'), h('div', { class: 'controls' }, filter, ' ', state, ' ', count),
             h('table', { class: 'table', id: 'trial-table' }, h('thead', {}, head), tbody), more);
  }

  // ------------------------------------------------------------------ pages
  function countsText(counts) {
    return STATES.filter((st) => counts[st]).map((st) => `${counts[st]} ${st.toLowerCase()}`).join(', ') || 'no trials';
  }

  function renderStudies(studies) {
    document.title = 'knob dashboard';
    const rows = studies.map((st) => h('tr', {},
      h('td', {}, h('a', { href: studyHref(st.name), class: 'study-link' }, st.name)),
      h('td', {}, st.directions.join(', ')),
      ...STATES.map((state) => h('td', { class: 'num' }, String(st.counts[state]))),
      h('td', { class: 'num' }, st.best ? fmt(st.best.values[0]) + ` (#${st.best.number})` : '—'),
      h('td', {}, st.last_update || '—')));
    show(h('h1', {}, 'Studies'),
      studies.length ? h('table', { class: 'table', id: 'studies' },
        h('thead', {}, h('tr', {}, h('th', {}, 'study'), h('th', {}, 'direction(s)'),
          ...STATES.map((state) => h('th', {}, state.toLowerCase())), h('th', {}, 'best value'), h('th', {}, 'last update'))),
        h('tbody', {}, ...rows)) : h('p', {}, 'This storage holds no studies.'));
  }

  // Makes `nodes` (nulls skipped) the children of `parent`, leaving in place those already
  // there in that order: a chart kept from the last draw is neither rebuilt nor moved.
  function patch(parent, nodes) {
    nodes = nodes.filter((n) => n !== null && n !== undefined && n !== false);
    const wanted = new Set(nodes);
    for (const child of [...parent.childNodes]) if (!wanted.has(child)) child.remove();
    nodes.forEach((node, i) => {
      if (parent.childNodes[i] !== node) parent.insertBefore(node, parent.childNodes[i] || null);
    });
  }

  // The study page as last drawn: its containers, and each chart's nodes under a key with the
  // signature of the data it drew. A poll that brings new trials redraws only the charts whose
  // signature changed. Finished trials never change and the set of COMPLETE trials only grows,
  // so its count stands for it.
  let studyPage = null;  // {name, nav, title, charts, drawn: Map(key -> {sig, nodes})}

  function renderStudy(study) {
    document.title = study.name + ' — knob';
    if (!studyPage || studyPage.name !== study.name) {
      studyPage = { name: study.name, nav: embedded ? null : h('nav', {}, h('a', { href: '/' }, '← studies')),
                    title: h('h1', { id: 'study-name' }, study.name), charts: h('div', { class: 'charts' }),
                    drawn: new Map() };
    }
    const page = studyPage, drawn = new Map();
    const keep = (key, sig, build) => {
      const old = page.drawn.get(key);
      const entry = old && old.sig === sig ? old : { sig, nodes: [].concat(build()) };
      drawn.set(key, entry);
      return entry.nodes;
    };
    const infos = study.params.map(paramInfo);
    const trials = study.trials;
    let nComplete = 0, curves = 0;
    const unfinished = [];
    for (const t of trials) {
      if (t.state === 'COMPLETE' && t.values) ++nComplete;
      const running = t.state === 'RUNNING' || t.state === 'WAITING';
      if (running) unfinished.push(t);
      else if (Object.keys(t.intermediate_values).length) ++curves;
    }
    const base = JSON.stringify([study.directions, study.params]) + '|';
    const done = base + nComplete;  // the charts of the COMPLETE trials
    const withCurves = curves + unfinished.filter((t) => Object.keys(t.intermediate_values).length).length;
    const best = study.best ? `best ${fmt(study.best.values[0])} (trial ${study.best.number})`
      : study.directions.length > 1 ? `${study.best_trials.length} trials on the Pareto front` : 'no complete trial yet';
    const charts = [...keep('history', done, () => historyCharts(study))];
    if (study.directions.length > 1) {
      charts.push(...keep('pareto', done, () => paretoCharts(study)), ...keep('hypervolume', done, () => hypervolumeChart(study)));
    }
    if (withCurves) {
      const sig = base + curves + '|' + JSON.stringify(unfinished.map((t) => [t.number, t.state, t.intermediate_values]));
      charts.push(...keep('intermediate', sig, () => intermediateChart(trials, 'intermediate')));
    }
    if (infos.length) charts.push(...keep('parallel', done, () => parallelChart(study, infos)));
    if (study.importance) charts.push(...keep('importance', JSON.stringify(study.importance), () => importanceChart(study.importance)));
    charts.push(...keep('slices', done, () => sliceCharts(study, infos)));
    if (infos.length >= 2 && study.counts.COMPLETE) {
      const sig = done + JSON.stringify(contourParams(study, infos).map((i) => i.name));
      charts.push(...keep('contour', sig, () => contourChart(study, infos)));
    }
    if (study.counts.COMPLETE) charts.push(...keep('edf', done, () => edfCharts(study)));
    const [finders] = keep('finders', JSON.stringify(study.user_attrs || {}), () => {
      const runs = finderCharts(study);
      return runs.length ? h('section', { id: 'finder-runs' }, h('h2', {}, 'Finder runs'), h('div', { class: 'charts' }, ...runs)) : null;
    });
    const [table] = keep('table', `${trials.length}|${base}${JSON.stringify(unfinished)}`, () => trialTable(study, infos));
    page.drawn = drawn;
    patch(page.charts, charts);
    patch(app, [page.nav, page.title,
      h('p', { class: 'summary' }, study.directions.join(', ').toLowerCase(), ' · ', countsText(study.counts), ' · ', best,
        ' · last update ', study.last_update || '—'),
      page.charts, finders, table]);
  }

  // "float in [0.0001, 0.1], log", "int in [8, 256], step 8", "one of sgd, adam".
  function distributionText(d) {
    if (!d) return '—';
    const a = d.attributes || {};
    if (d.name === 'CategoricalDistribution') return 'one of ' + a.choices.map(fmt).join(', ');
    const kind = d.name === 'IntDistribution' ? 'int' : 'float';
    return `${kind} in [${fmt(a.low)}, ${fmt(a.high)}]` + (a.log ? ', log' : '') +
           (a.step !== null && a.step !== undefined && a.step !== 1 ? `, step ${fmt(a.step)}` : '');
  }

  function keyValueTable(id, header, entries) {
    return h('table', { class: 'table', id }, h('thead', {}, h('tr', {}, ...header.map((x) => h('th', {}, x)))),
             h('tbody', {}, ...entries.map((row) => h('tr', {}, ...row.map((x) => h('td', {}, x))))));
  }

  function renderTrial(t) {
    document.title = `trial ${t.number} of ${t.study} — knob`;
    const state = h('span', { class: 'state-' + t.state }, t.state);
    const values = t.values ? t.values.map((v, i) => [t.directions.length === 1 ? 'value' : 'value ' + i, fmt(v)]) : [];
    show(
      h('nav', {}, h('a', { href: studyHref(t.study) }, '← ', t.study)),
      h('h1', {}, `Trial ${t.number}`),
      h('p', { class: 'summary' }, 'state ', state, ' · started ', t.datetime_start || '—', ' · finished ',
        t.datetime_complete || '—', t.duration !== null ? ` · ${fmt(t.duration)} s` : ''),
      t.fail_reason !== null ? h('pre', { class: 'fail-reason', id: 'fail-reason' }, fmt(t.fail_reason)) : null,
      values.length ? keyValueTable('values', ['objective', 'value'], values) : null,
      h('h2', {}, 'Parameters'),
      keyValueTable('params', ['name', 'value', 'distribution'],
        Object.entries(t.params).map(([k, v]) => [k, fmt(v), distributionText(t.distributions[k])])),
      Object.keys(t.intermediate_values).length ? h('div', { class: 'charts' }, intermediateChart([t], 'trial-intermediate')) : null,
      Object.keys(t.intermediate_values).length ? keyValueTable('intermediate', ['step', 'value'],
        Object.entries(t.intermediate_values).map(([k, v]) => [k, fmt(v)])) : null,
      h('h2', {}, 'User attributes'),
      Object.keys(t.user_attrs).length
        ? keyValueTable('user-attrs', ['key', 'value'], Object.entries(t.user_attrs).map(([k, v]) => [k, fmt(v)]))
        : h('p', {}, 'none'));
  }

  function renderError(message) {
    show(h('nav', {}, h('a', { href: '/' }, '← studies')), h('p', { class: 'error' }, message));
  }

  // ------------------------------------------------------------------ data sources
  // Dashboard: fetch the page's JSON (`url` may be a function: asked each time), render when
  // it changed, poll while the page is open.
  function poll(url, render) {
    let last = null;
    const tick = () => {
      fetch(typeof url === 'function' ? url() : url, { cache: 'no-store' })
        .then((r) => r.text().then((text) => ({ ok: r.ok, text })))
        .then(({ ok, text }) => {
          if (text !== last) {
            last = text;
            if (ok) render(JSON.parse(text));
            else renderError(JSON.parse(text).error);
          }
        })
        .catch((e) => renderError('cannot reach the dashboard: ' + e))
        .finally(() => setTimeout(tick, POLL_MS));
    };
    tick();
  }

  if (embedded) {  // the report: one study, its trials behind #trial=N
    const study = JSON.parse(embedded.textContent);
    const route = () => {
      const m = /^#trial=(\d+)$/.exec(location.hash);
      const t = m && study.trials.find((x) => x.number === Number(m[1]));
      if (t) renderTrial(Object.assign({ study: study.name, directions: study.directions }, t));
      else renderStudy(study);
    };
    window.addEventListener('hashchange', route);
    route();
  } else {
    const q = new URLSearchParams(location.search);
    if (location.pathname === '/study') {
      // Only the trials from the first unfinished one on are asked for again: the trials
      // before it are finished, and finished trials never change.
      let trials = [], from = 0, header = null;
      poll(() => '/api/study?name=' + encodeURIComponent(q.get('name') || '') + '&from=' + from, (study) => {
        const fresh = study.trials;
        study.trials = null;
        const text = JSON.stringify(study);
        if (!fresh.length && text === header) return;  // only `from` moved: nothing new
        header = text;
        trials = trials.filter((t) => t.number < from).concat(fresh);
        study.trials = trials;
        const unfinished = trials.find((t) => t.state === 'RUNNING' || t.state === 'WAITING');
        from = unfinished ? unfinished.number : trials.length ? trials[trials.length - 1].number + 1 : 0;
        renderStudy(study);
      });
    } else if (location.pathname === '/trial') {
      poll('/api/trial?study=' + encodeURIComponent(q.get('study') || '') + '&number=' +
           encodeURIComponent(q.get('number') || ''), renderTrial);
    } else {
      poll('/api/studies', renderStudies);
    }
  }
})();
