// The diagnostics panel (makemore part 3's plots, live): histograms of the hidden
// pre-activations and of tanh's outputs with the saturated share, the saturation
// map (probe examples × hidden units, white where |h| > 0.99), the logits' spread
// and the softmax's confidence, per-parameter gradient histograms and the
// update:data ratio over time with its 1e-3 guide line. The numbers come from
// the wasm Trainer's `diagnostics()` (Rust, src/diagnostics.rs) through the
// worker's `diagnostics` message; this module only draws them. `compact` (the
// element) keeps the summary, tanh's histogram and the map.

import uPlot from './vendor/uplot/uPlot.esm.js';

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777'];
const HIST_W = 260;
const HIST_H = 90;
const RATIO_H = 200;

const pct = (x) => `${(100 * x).toFixed(1)}%`;
const num = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');

function el(tag, attrs = {}, children = []) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (k === 'text') e.textContent = v;
        else e.setAttribute(k, v);
    }
    e.append(...children);
    return e;
}

/** Bars of `{lo, hi, counts}` on `canvas`; bins whose centre `hot(x)` is true are red. */
export function drawHistogram(canvas, { lo, hi, counts }, hot = () => false) {
    const ctx = canvas.getContext('2d');
    const { width: w, height: h } = canvas;
    ctx.clearRect(0, 0, w, h);
    const max = Math.max(1, ...counts);
    const bw = w / counts.length;
    counts.forEach((c, i) => {
        const centre = lo + (i + 0.5) * (hi - lo) / counts.length;
        ctx.fillStyle = hot(centre) ? '#dc2626' : '#2563eb';
        const bh = Math.round((c / max) * (h - 14));
        ctx.fillRect(i * bw + 0.5, h - 12 - bh, Math.max(1, bw - 1), bh);
    });
    ctx.fillStyle = '#4b5563';
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'bottom';
    ctx.textAlign = 'left';
    const label = (x) => (Math.abs(hi - lo) < 0.1 ? x.toExponential(1) : num(x, 2));
    ctx.fillText(label(lo), 1, h);
    ctx.textAlign = 'right';
    ctx.fillText(label(hi), w - 1, h);
}

/** The saturation map: one pixel per (example, unit), white where saturated. */
export function drawSaturation(canvas, map, rows, hidden) {
    canvas.width = Math.max(1, hidden);
    canvas.height = Math.max(1, rows);
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(canvas.width, canvas.height);
    for (let i = 0; i < rows * hidden; i++) {
        const v = map[i] ? 255 : 0;
        img.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
}

export class DiagnosticsPanel {
    /** Builds the panel inside `root`; `constants` from `diagnosticsConstants()`. */
    constructor(root, { compact = false } = {}) {
        this.root = root;
        this.compact = compact;
        this.constants = null;
        this.summary = el('p', { class: 'diag-summary', role: 'status' });
        this.preact = el('canvas', { width: HIST_W, height: HIST_H, class: 'diag-hist', 'aria-label': 'histogram of the hidden pre-activations' });
        this.act = el('canvas', { width: HIST_W, height: HIST_H, class: 'diag-hist', 'aria-label': 'histogram of tanh outputs' });
        this.map = el('canvas', { class: 'diag-map', 'aria-label': 'saturation map: white where a unit is saturated' });
        this.logits = el('p', { class: 'diag-logits' });
        this.grads = el('div', { class: 'diag-grads' });
        this.ratio = el('div', { class: 'diag-ratio chart', role: 'img', 'aria-label': 'update to data ratio over time' });
        const figure = (title, node) => el('figure', {}, [el('figcaption', { text: title }), node]);
        const plots = el('div', { class: 'diag-plots' }, [
            ...(compact ? [] : [figure('Before tanh (pre-activations)', this.preact)]),
            figure('After tanh (red: |h| > 0.99)', this.act),
            figure('Saturated units (rows: examples, columns: units; white: saturated)', this.map),
        ]);
        root.replaceChildren(this.summary, plots, ...(compact ? [] : [
            this.logits,
            el('h3', { text: 'Gradients by parameter (on the probe batch)' }), this.grads,
            el('h3', { text: 'Update size relative to the weights, log10 (guide: −3)' }), this.ratio,
        ]));
        this.reset();
    }

    setConstants(constants) {
        this.constants = constants;
    }

    /** Forgets the ratio history (a new model). */
    reset() {
        this.steps = [];
        this.ratios = new Map();
        this.plot?.destroy();
        this.plot = null;
        this.summary.textContent = 'Diagnostics appear once the model is built.';
    }

    /** Draws one report from the worker. */
    update(d) {
        const sat = Number((this.constants?.saturated ?? 0.99).toPrecision(6));
        this.summary.textContent = `${pct(d.saturated)} of tanh outputs are saturated (|h| > ${sat}), so they pass almost no gradient; `
            + `${pct(d.deadUnits)} of units are saturated on every probe example. Probe loss ${num(d.loss, 4)} at step ${d.step}.`;
        drawHistogram(this.act, d.act, (x) => Math.abs(x) > sat);
        drawSaturation(this.map, d.saturationMap, d.rows, d.hidden);
        if (this.compact) return;
        drawHistogram(this.preact, d.preact);
        const l = d.logits;
        this.logits.textContent = `Logits: spread (std) ${num(l.std)}, largest ${num(l.maxAbs, 2)}. `
            + `The softmax gives its top character ${num(l.confidence)} on average and the right one ${num(l.targetProb)} `
            + '(a model that knows nothing gives every character the same).';
        this.drawGrads(d.tensors);
        this.addRatios(d.step, d.tensors);
    }

    drawGrads(tensors) {
        if (this.grads.childElementCount !== tensors.length) {
            this.grads.replaceChildren(...tensors.map((t) => el('figure', {}, [
                el('figcaption'), el('canvas', { width: 170, height: 60, class: 'diag-hist' }),
            ])));
        }
        tensors.forEach((t, i) => {
            const fig = this.grads.children[i];
            fig.querySelector('figcaption').textContent = `${t.name}: grad std ${t.gradStd.toExponential(2)}`;
            drawHistogram(fig.querySelector('canvas'), t.grad);
        });
    }

    addRatios(step, tensors) {
        if (this.steps.length && step <= this.steps[this.steps.length - 1]) return;
        this.steps.push(step);
        for (const t of tensors) {
            if (!this.ratios.has(t.name)) this.ratios.set(t.name, this.steps.slice(0, -1).map(() => null));
            this.ratios.get(t.name).push(t.updateRatio ?? null);
        }
        const names = [...this.ratios.keys()];
        const guide = this.constants?.updateRatioGuide ?? -3;
        const data = [this.steps, ...names.map((n) => this.ratios.get(n)), this.steps.map(() => guide)];
        if (this.plot && this.plot.series.length === names.length + 2) {
            this.plot.setData(data);
            return;
        }
        this.plot?.destroy();
        this.plot = new uPlot({
            width: Math.max(200, this.ratio.clientWidth), height: RATIO_H,
            scales: { x: { time: false } },
            legend: { live: false },
            axes: [{ label: 'step' }, { label: 'log10 update:data' }],
            series: [
                { label: 'step' },
                ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true, points: { show: this.steps.length < 3 } })),
                { label: 'guide 1e-3', stroke: '#6b7280', dash: [6, 4], width: 1, points: { show: false } },
            ],
        }, data, this.ratio);
    }
}
