// "E02 — the notebook's tries": every init scheme trained for the same step
// budget, on the notebook's model (T=3, E=50, H=100, SGD at lr 0.1), the same
// seed, split and batches; their curves on one chart and, in a table, the dev
// loss before and after and the share of saturated tanh units, beside the
// figures the notebook printed. The worker runs one scratch trainer per scheme
// (its `e02` message); this module asks and draws.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { rateKey, recall, remember } from '../eta.js';
import { about, count, loss } from '../format.js';

const COLORS = ['#6b7280', '#d97706', '#dc2626', '#db2777', '#2563eb', '#059669'];
const HEIGHT = 280;
/** About this many points per curve. */
const POINTS = 300;

/** What the reference notebook printed for each try (batch 16384, SGD lr 0.1). */
export const NOTEBOOK = {
    naive: { initial: '≈ 17.7–19', after: '—' },
    uniform: { initial: '7.90 (6.42 on a rerun)', after: '—' },
    'uniform-zero-output': { initial: '3.2958', after: 'stalls near 2.82 (30k steps)' },
    'uniform-small-output': { initial: '3.2958', after: 'stalls near 2.81' },
    'small-output': { initial: '3.2958', after: 'dev 2.1343 (200k steps)' },
    kaiming: { initial: 'not tried', after: 'not tried' },
};

const pct = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : '–');

export class E02View {
    /**
     * `els`: {form, steps, batch, start, stop, estimate, status, chart, rows, time}.
     * `send(msg)`: to the worker. `text()`: the word list's bytes. `base()`: the settings form.
     */
    constructor({ els, send, text, base }) {
        Object.assign(this, { els, send, text, base });
        this.schemes = [];
        /** The notebook's model and optimizer (`constants().e02_tries`); the learner picks the steps and the batch. */
        this.notebook = null;
        this.running = false;
        this.backend = null;
        this.plot = null;
        els.form.addEventListener('submit', (event) => {
            event.preventDefault();
            this.start();
        });
        els.stop.addEventListener('click', () => this.send({ type: 'e02-stop' }));
        for (const input of [els.steps, els.batch]) input.addEventListener('change', () => this.estimate());
        new ResizeObserver(() => this.plot?.setSize(this.size())).observe(els.chart);
    }

    size() {
        return { width: Math.max(200, this.els.chart.clientWidth), height: HEIGHT };
    }

    config() {
        const { seed, split_seed: splitSeed, backend } = this.base();
        return { ...this.notebook, seed, split_seed: splitSeed, backend, batch_size: Number(this.els.batch.value) };
    }

    budget() {
        return Math.max(1, Math.floor(Number(this.els.steps.value) || 0));
    }

    key() {
        return `e02:${rateKey(this.backend, this.config())}`;
    }

    /** Before a start: the time from the last measured rate, or a short measurement. */
    estimate() {
        if (this.running || !this.text() || !this.notebook) return;
        const rate = this.backend && recall(this.key());
        if (rate) {
            this.els.estimate.textContent = `${this.schemes.length} schemes × ${count(this.budget())} steps: ${about(this.schemes.length * this.budget() / rate)} on ${this.where()}.`;
            return;
        }
        if (this.probing) return;
        this.probing = true;
        this.els.estimate.textContent = 'Measuring how fast this runs here…';
        this.send({ type: 'rate-probe', tag: 'e02', text: this.text(), config: { ...this.config(), init: 'small-output' } });
    }

    where() {
        return this.backend === 'webgpu' ? 'WebGPU' : 'the CPU';
    }

    start() {
        if (this.running || !this.text() || !this.notebook) return;
        const steps = this.budget();
        this.running = true;
        this.els.start.disabled = true;
        this.els.stop.disabled = false;
        this.els.time.textContent = '';
        this.bucket = Math.max(1, Math.ceil(steps / POINTS));
        this.x = Array.from({ length: Math.ceil(steps / this.bucket) }, (_, i) => Math.min(steps, (i + 1) * this.bucket));
        this.curves = new Map(this.schemes.map((s) => [s.name, { y: this.x.map(() => null), sum: 0, n: 0 }]));
        this.rows = new Map();
        this.renderRows();
        this.rebuild();
        this.els.status.textContent = `Training ${this.schemes.length} schemes for ${count(steps)} steps each…`;
        this.send({ type: 'e02', text: this.text(), config: this.config(), steps, schemes: this.schemes.map((s) => s.name) });
    }

    rebuild() {
        this.plot?.destroy();
        this.plot = new uPlot({
            ...this.size(),
            scales: { x: { time: false }, y: { distr: 3 } },
            legend: { live: false },
            axes: [{ label: 'step' }, { label: 'train loss (log scale)' }],
            series: [{ label: 'step' }, ...this.schemes.map((s, i) => ({
                label: s.name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true, points: { show: false },
            }))],
        }, this.data(), this.els.chart);
    }

    data() {
        return [this.x ?? [], ...this.schemes.map((s) => this.curves?.get(s.name)?.y ?? [])];
    }

    renderRows() {
        this.els.rows.replaceChildren(...this.schemes.map((s) => {
            const r = this.rows?.get(s.name) ?? {};
            const nb = NOTEBOOK[s.name] ?? { initial: '—', after: '—' };
            const tr = document.createElement('tr');
            tr.dataset.scheme = s.name;
            tr.dataset.points = String(this.curves?.get(s.name)?.y.filter((y) => y !== null).length ?? 0);
            const cells = [
                s.name, s.about, loss(r.initialLoss), nb.initial,
                r.error ? `stopped: ${r.error}` : loss(r.dev), nb.after, pct(r.saturatedInit), pct(r.saturated),
            ];
            tr.replaceChildren(...cells.map((text, i) => {
                const td = document.createElement(i === 0 ? 'th' : 'td');
                if (i === 0) td.scope = 'row';
                td.textContent = text;
                return td;
            }));
            return tr;
        }));
    }

    onMessage(msg) {
        switch (msg.type) {
        case 'constants':
            this.schemes = msg.diagnostics.initSchemes;
            this.notebook = msg.shared.e02_tries;
            this.renderRows();
            this.estimate();
            break;
        case 'backend':
            this.backend = msg.backend;
            this.estimate();
            break;
        case 'dataset':
            this.estimate();
            break;
        case 'rate-probe':
            if (msg.tag !== 'e02') break;
            this.probing = false;
            remember(`e02:${rateKey(msg.backend, this.config())}`, msg.stepsPerSec);
            // A rate from another device than the page's would only ask for another probe.
            if (msg.backend === this.backend) this.estimate();
            break;
        case 'e02-curve': {
            const c = this.curves?.get(msg.init);
            if (!c) break;
            msg.losses.forEach((l, i) => {
                const step = msg.from + i + 1;
                c.sum += l;
                c.n += 1;
                if (step % this.bucket === 0 || step === msg.steps) {
                    c.y[Math.ceil(step / this.bucket) - 1] = c.sum / c.n;
                    c.sum = 0;
                    c.n = 0;
                }
            });
            remember(this.key(), msg.stepsPerSec);
            const done = [...this.rows.keys()].length;
            const left = ((this.schemes.length - done) * msg.steps - msg.step) / msg.stepsPerSec;
            this.els.estimate.textContent = `${msg.init}: step ${count(msg.step)} of ${count(msg.steps)}; ${about(left)} left on ${this.where()}.`;
            this.plot?.setData(this.data());
            break;
        }
        case 'e02-row':
            this.rows.set(msg.init, msg);
            this.renderRows();
            break;
        case 'e02-done': {
            this.running = false;
            this.els.start.disabled = false;
            this.els.stop.disabled = true;
            const minutes = (msg.seconds / 60).toFixed(1);
            this.els.status.textContent = msg.stopped ? 'Stopped.' : `Done: every scheme trained ${count(this.budget())} steps.`;
            this.els.time.textContent = `This page took ${msg.seconds < 120 ? `${msg.seconds.toFixed(0)} s` : `${minutes} min`} on ${msg.backend === 'webgpu' ? 'WebGPU' : 'the CPU'} for all of them; the notebook's runs (200,000 steps at batch 16,384 each) took hours.`;
            break;
        }
        case 'error':
            if (msg.about === 'e02') {
                this.probing = false;
                this.els.status.textContent = `The comparison stopped: ${msg.message}`;
                this.running = false;
                this.els.start.disabled = false;
                this.els.stop.disabled = true;
            }
            break;
        default:
            break;
        }
    }
}
