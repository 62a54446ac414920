// <makemore-trainer>: a drop-in, self-contained trainer for lesson pages.
//
//   <script type="module" src="https://…/makemore-wasm/element.js"></script>
//   <makemore-trainer preset="e03" steps="3000" autostart></makemore-trainer>
//
// Each element owns one Web Worker (www/worker.js, the page's own trainer thread,
// spoken to with its typed messages) and its own shadow DOM: a compact loss chart
// (uPlot, through chart.js), a few samples, a Start/Pause button and a status line
// that says in plain words where it trains and why, with the adapter's facts, the
// measured rates and any driver error in a closed details disclosure (and a
// "measure again" button where auto timed both). Several elements on one page train
// independently. Nothing needs cross-origin isolation: the wasm is single-threaded.
//
// Attributes (all optional; a change before training starts rebuilds the model):
//   src        word list URL, one word a line (default: the bundled names.txt)
//   preset     e01 | e02 | e03 | lecture (default e01)
//   backend    auto | webgpu | cpu (default auto: the CPU without a GPU or with a software
//              one, else the faster of the two on this model, measured once and remembered)
//   kernels    auto | software | hardware: the GPU's kernel set (default: for the adapter)
//   block, emb, n-hidden, direct, steps, batch, lr, lr-decay, optimizer, init, weight-decay,
//   seed, split-seed, eval-every, …   every other setting over the preset, named by its
//              config key (n_hidden, l2_w1), the key in kebab case (lr-decay) or the CLI's
//              short alias (emb; not hidden, which would hide the element); the wasm build's constants().settings lists each
//              setting's attributes and kind (src/web/constants.rs), and this file keeps no copy
//   autostart  start training as soon as the model is built
//   compact    a smaller chart and fewer samples
//   diagnostics  live tanh statistics while training: the saturated share, tanh's
//              histogram and the saturation map (www/diagnostics.js, compact)
//
// Events (bubbling, composed): progress {step, steps, loss, stepsPerSec}
//   · done {step, train, dev, test} · error {message}
//   · ready {backend, reason, config} once the model is built.
// Methods: start(), pause(). Properties: state, backend, losses (the final ones).

import { LossChart } from './chart.js';
import { TrainerClient } from './client.js';
import { DiagnosticsPanel } from './diagnostics.js';
import { loss } from './format.js';

const UPLOT_CSS = new URL('./vendor/uplot/uPlot.min.css', import.meta.url).href;
const DEFAULT_SRC = new URL('./data/names.txt', import.meta.url).href;

/** How an attribute's text becomes a setting's value, by the setting's kind (`constants().settings`). */
const READ = {
    int: Number,
    float: Number,
    bool: (text) => text !== 'false' && text !== '0', // a bare attribute is true
    text: String,
    choice: String,
};

/** attribute name → {key, kind}, from `constants().settings`. */
function attributeMap(settings) {
    const map = new Map();
    for (const [key, { kind, attributes }] of Object.entries(settings)) {
        for (const name of attributes) map.set(name, { key, kind });
    }
    return map;
}

const STYLE = `
:host { display: block; font: 14px/1.4 system-ui, sans-serif; color: #111827; background: #fff;
  border: 1px solid #d1d5db; border-radius: 8px; padding: 10px 12px; box-sizing: border-box; min-width: 220px; }
:host([hidden]) { display: none; }
.head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.title { font-weight: 600; }
button { font: inherit; padding: 3px 12px; border-radius: 6px; border: 1px solid #2563eb;
  background: #2563eb; color: #fff; cursor: pointer; }
button[disabled] { opacity: .5; cursor: default; }
.progress { margin-left: auto; font-variant-numeric: tabular-nums; color: #374151; }
.status { font-size: 12px; color: #4b5563; margin: 4px 0; }
.status.error { color: #b91c1c; }
.details { font-size: 11px; color: #6b7280; margin: 0 0 4px; }
.details summary { cursor: pointer; }
.details ul { margin: 2px 0; padding-left: 16px; overflow-wrap: anywhere; }
.details button { font-size: 11px; padding: 1px 8px; }
.chart { width: 100%; min-height: 120px; }
.losses { font-variant-numeric: tabular-nums; margin: 4px 0; }
.samples { display: flex; flex-wrap: wrap; gap: 4px; margin: 4px 0 0; padding: 0; list-style: none; }
.samples li { background: #f3f4f6; border-radius: 4px; padding: 0 6px; font-family: ui-monospace, monospace; font-size: 12px; }
.u-legend { font-size: 11px; }
.diagnostics { font-size: 12px; margin-top: 6px; }
.diagnostics p { margin: 2px 0; }
.diag-plots { display: flex; flex-wrap: wrap; gap: 6px 10px; }
.diag-plots figure { margin: 0; }
.diag-plots figcaption { font-size: 11px; color: #4b5563; max-width: 200px; }
.diag-hist { display: block; width: 200px; height: 70px; border: 1px solid #d1d5db; }
.diag-map { display: block; width: 200px; height: 100px; image-rendering: pixelated; background: #000; border: 1px solid #d1d5db; }
`;

let sheet = null;
/** The element's own styles as a constructed sheet: no inline <style>, so a strict CSP allows it. */
function styleSheet() {
    if (!sheet && 'adoptedStyleSheets' in Document.prototype) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
    }
    return sheet;
}

/** The loss chart at the element's height. */
class SmallChart extends LossChart {
    size() {
        return { width: Math.max(160, this.el.clientWidth), height: Number(this.el.dataset.height) || 200 };
    }
}

/** How the status line starts in each state, before the plain words about the backend. */
const STATE_WORDS = { idle: 'Ready.', running: 'Training.', paused: 'Paused.', done: 'Done.' };


export class MakemoreTrainer extends HTMLElement {
    // The settings' attributes come from the wasm build once the worker starts, so a
    // MutationObserver watches them (observedAttributes is read once, at define time).
    static get observedAttributes() {
        return ['src', 'compact'];
    }

    constructor() {
        super();
        const root = this.attachShadow({ mode: 'open' });
        const css = styleSheet();
        if (css) root.adoptedStyleSheets = [css];
        root.innerHTML = `
<link rel="stylesheet" href="${UPLOT_CSS}">
<div class="head" part="head">
  <span class="title" part="title">makemore MLP</span>
  <button type="button" part="button" disabled>Start</button>
  <span class="progress" part="progress"></span>
</div>
<div class="status" part="status" role="status" aria-live="polite">starting…</div>
<details class="details" part="details" hidden><summary>details</summary><ul></ul>
  <button type="button" class="remeasure" part="remeasure" hidden>measure again</button></details>
<div class="chart" part="chart"></div>
<div class="losses" part="losses"></div>
<ul class="samples" part="samples" aria-label="samples"></ul>
<div class="diagnostics" part="diagnostics" hidden></div>`;
        this.$ = (sel) => root.querySelector(sel);
        this.$('button').addEventListener('click', () => (this.state === 'running' ? this.pause() : this.start()));
        this.$('.remeasure').addEventListener('click', () => this.measureAgain());
        this.state = 'starting';
        this.backend = null;
        this.losses = null;
        this.client = null;
        this.chart = null;
        this.ready = false;
        this.wantStart = false;
        this.built = null; // the config of the model built, to tell a real change
        this.diagnostics = null; // the compact panel, with the `diagnostics` attribute
        this.settingOf = null; // attribute name → {key, kind}, from the worker's constants
        this.watch = new MutationObserver((records) => {
            const changed = records.some((r) => this.settingOf?.has(r.attributeName) && r.oldValue !== this.getAttribute(r.attributeName));
            if (changed && this.ready && this.state === 'idle') this.build();
        });
    }

    connectedCallback() {
        if (!this.chart) {
            const el = this.$('.chart');
            el.dataset.height = this.hasAttribute('compact') ? 170 : 230;
            this.chart = new SmallChart(el);
        }
        if (!this.diagnostics && this.hasAttribute('diagnostics')) {
            const el = this.$('.diagnostics');
            el.hidden = false;
            this.diagnostics = new DiagnosticsPanel(el, { compact: true });
        }
        if (this.client) return;
        this.watch.observe(this, { attributes: true, attributeOldValue: true });
        this.ready = false;
        this.client = new TrainerClient((msg) => this.onMessage(msg), (text) => this.fail(text));
    }

    disconnectedCallback() {
        this.watch.disconnect();
        this.client?.close();
        this.client = null;
        this.built = null;
        this.setState('starting');
    }

    attributeChangedCallback(name, old, value) {
        if (old === value || !this.ready) return;
        if (name === 'compact') {
            this.$('.chart').dataset.height = value === null ? 230 : 170;
            this.chart?.rebuild();
            return;
        }
        // Settings change the model only before it trains.
        if (this.state === 'idle') this.build();
    }

    /** The settings object the worker accepts, from the attributes that name a setting. */
    config() {
        const config = {};
        for (const { name, value } of this.attributes) {
            const setting = this.settingOf?.get(name);
            if (setting) config[setting.key] = READ[setting.kind](value);
        }
        return config;
    }

    /** Times both backends on this model again (auto, on a GPU) and rebuilds the model. */
    measureAgain() {
        if (this.ready && this.state !== 'running') this.build({ remeasure: true });
    }

    start() {
        if (this.state === 'idle' || this.state === 'paused') this.client?.send({ type: 'start' });
        else if (this.state === 'starting') this.wantStart = true;
    }

    pause() {
        this.wantStart = false;
        if (this.state === 'running') this.client?.send({ type: 'pause' });
    }

    emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
    }

    setStatus(text, error = false) {
        const el = this.$('.status');
        el.textContent = text;
        el.classList.toggle('error', error);
    }

    fail(message) {
        this.setStatus(`error: ${message}`, true);
        this.setState('error');
        this.emit('error', { message });
    }

    setState(state) {
        this.state = state;
        const button = this.$('button');
        button.textContent = state === 'running' ? 'Pause' : state === 'paused' ? 'Resume' : state === 'done' ? 'Done' : 'Start';
        button.disabled = !['idle', 'running', 'paused'].includes(state);
    }

    async build(options = {}) {
        const config = this.config();
        const src = this.getAttribute('src') || DEFAULT_SRC;
        this.setState('starting');
        this.setStatus(`loading ${src.split('/').pop() || src}…`);
        try {
            const res = await fetch(src);
            if (!res.ok) throw new Error(`${src}: HTTP ${res.status}`);
            const bytes = await res.arrayBuffer();
            this.built = config;
            this.client?.send({ type: 'create', text: bytes, config, tag: 'element', ...options }, [bytes]);
        } catch (err) {
            this.fail(`could not load the word list: ${err.message}`);
        }
    }

    onMessage(msg) {
        switch (msg.type) {
        case 'ready':
            if (this.diagnostics) this.client?.send({ type: 'diagnostics', on: true });
            break;
        case 'constants': // right after ready: the model is built once the attributes can be read
            this.diagnostics?.setConstants(msg.diagnostics);
            this.settingOf = attributeMap(msg.shared.settings);
            this.ready = true;
            this.build();
            break;
        case 'diagnostics':
            this.diagnostics?.update(msg.report);
            break;
        case 'backend': {
            this.backend = msg.backend;
            this.backendText = msg.summary;
            const lines = [msg.measured, ...msg.details].filter(Boolean);
            this.$('.details ul').replaceChildren(...lines.map((line) => {
                const li = document.createElement('li');
                li.textContent = line;
                return li;
            }));
            this.$('.details').hidden = lines.length === 0;
            this.$('.remeasure').hidden = !msg.measurable;
            if (this.state !== 'starting') this.setStatus(`${STATE_WORDS[this.state] ?? ''} ${msg.summary}`.trim());
            break;
        }
        case 'measuring':
            this.setStatus('timing the CPU and the GPU on this model…');
            break;
        case 'dataset':
            this.uniform = msg.stats.uniformLoss ?? msg.stats.uniform_loss ?? NaN;
            this.words = msg.stats.words;
            break;
        case 'config': {
            const c = msg.config;
            this.steps = c.steps;
            this.chart.reset({ steps: c.steps, uniform: this.uniform });
            this.$('.title').textContent = `${(c.preset ?? 'MLP').toUpperCase()} · T=${c.block_size} E=${c.n_embd} H=${c.n_hidden}${c.direct ? ' · direct' : ''}`;
            this.config_ = c;
            this.diagnostics?.reset();
            break;
        }
        case 'created':
            this.chart.addDev(msg.step, msg.initialLoss);
            this.$('.progress').textContent = `0 / ${msg.steps}`;
            this.$('.losses').textContent = `dev ${loss(msg.initialLoss)} at the start`;
            break;
        case 'state': {
            const first = this.state === 'starting' && msg.state === 'idle';
            this.setState(msg.state);
            if (msg.state === 'running' || msg.state === 'idle' || msg.state === 'paused') {
                this.setStatus(`${STATE_WORDS[msg.state]} ${this.backendText ?? ''}`.trim());
            }
            if (first) {
                this.emit('ready', { backend: this.backend, reason: this.backendText, config: this.config_ });
                if (this.wantStart || this.hasAttribute('autostart')) this.start();
            }
            break;
        }
        case 'progress': {
            this.chart.addLosses(msg.from, msg.losses);
            let sum = 0;
            for (const x of msg.losses) sum += x;
            const mean = msg.losses.length ? sum / msg.losses.length : NaN;
            this.$('.progress').textContent = `${msg.step} / ${msg.steps} · ${Math.round(msg.stepsPerSec)} steps/s`;
            this.emit('progress', { step: msg.step, steps: msg.steps, loss: mean, stepsPerSec: msg.stepsPerSec });
            break;
        }
        case 'eval':
            this.chart.addDev(msg.step, msg.dev);
            if (msg.final) {
                this.losses = { step: msg.step, train: msg.train, dev: msg.dev, test: msg.test };
                this.$('.losses').textContent = `train ${loss(msg.train)} · dev ${loss(msg.dev)} · test ${loss(msg.test)}`;
                this.setStatus(`${STATE_WORDS.done} ${this.backendText ?? ''}`.trim());
                this.emit('done', { ...this.losses });
            } else {
                this.$('.losses').textContent = `dev ${loss(msg.dev)} at step ${msg.step}`;
            }
            break;
        case 'samples': {
            const list = this.$('.samples');
            const n = this.hasAttribute('compact') ? 6 : 12;
            list.replaceChildren(...msg.names.slice(0, n).map((name) => {
                const li = document.createElement('li');
                li.textContent = name;
                return li;
            }));
            break;
        }
        case 'rewound': // on the CPU from a checkpoint after the WebGPU device was lost
            this.chart.reset({ steps: msg.steps, uniform: this.uniform });
            this.chart.addLosses(msg.from, msg.losses);
            break;
        case 'diverged':
            this.fail(`training: ${msg.message}`);
            break;
        case 'error':
            this.fail(`${msg.about}: ${msg.message}`);
            break;
        default:
            break; // embedding, inits, weights: the full page's business
        }
    }
}

if (!customElements.get('makemore-trainer')) customElements.define('makemore-trainer', MakemoreTrainer);
