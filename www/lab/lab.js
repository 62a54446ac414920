// The learning lab: records every finished run in the history, and wires the
// runs table, the overlay chart, the sweep, the inspector and the sampling
// controls to the trainer worker. main.js hands it every worker message.

import { History } from './history.js';
import { Inspector } from './inspector.js';
import { OverlayChart } from './overlay.js';
import { RunsTable } from './runs-table.js';
import { Sampling } from './sampling.js';
import { Sweep } from './sweep.js';
import { label } from './sweep-plan.js';

const $ = (id) => document.getElementById(id);

/** The chart's points as a curve with one entry per step: {x, train, dev}. */
function curveOf(chart) {
    const at = new Map();
    chart.x.forEach((x, i) => {
        const p = at.get(x) ?? { train: null, dev: null };
        p.train = chart.train[i] ?? p.train;
        p.dev = chart.dev[i] ?? p.dev;
        at.set(x, p);
    });
    const x = [...at.keys()].sort((a, b) => a - b);
    return { x, train: x.map((s) => at.get(s).train), dev: x.map((s) => at.get(s).dev) };
}

export class Lab {
    /**
     * `send(msg)`: to the worker. `create(config, tag)`: a new trainer on the page's
     * word list. `chart`: the live loss chart. `baseConfig()`: the settings form.
     * `dataName()`: the word list's name. `resumeSweepRun(id, index)`: resumes that
     * sweep run from its saved checkpoint, resolving to false where there is none.
     */
    constructor({ send, create, chart, baseConfig, dataName, resumeSweepRun }) {
        Object.assign(this, { send, chart, dataName });
        this.runs = [];
        this.filter = 'all';
        this.history = null;
        this.pending = null; // the run whose weights are on their way
        this.backend = '';
        this.ms = 0;
        this.ready = false;
        this.overlay = new OverlayChart($('overlay'), $('overlay-empty'));
        this.table = new RunsTable({
            body: $('runs-body'),
            sortButtons: [...document.querySelectorAll('#runs-table [data-sort]')],
            onSelect: (ids) => this.overlay.show(this.runs.filter((r) => ids.includes(r.id)).map((r) => ({
                id: r.id, curve: r.curve, label: r.sweep ? label(r.sweep.overrides) : `H=${r.config.n_hidden}`,
            }))),
            onReopen: (run) => this.reopen(run),
        });
        this.sweep = new Sweep({
            els: {
                form: $('sweep-form'), keys: [...document.querySelectorAll('#sweep-form .sweep-key')],
                values: [...document.querySelectorAll('#sweep-form .sweep-values')], mode: $('sweep-mode'),
                count: $('sweep-count'), budget: $('sweep-budget'), pause: $('sweep-pause'), cancel: $('sweep-cancel'),
                progress: $('sweep-progress'), best: $('sweep-best'), error: $('sweep-error'),
            },
            history: { putSweep: (s) => this.store().putSweep(s) },
            send,
            create: (config) => create(config, 'sweep'),
            resumeRun: resumeSweepRun,
            baseConfig,
            runsOf: (id) => this.runs.filter((r) => r.sweep?.id === id),
            onStart: (sweep) => {
                this.addFilter(sweep);
                this.setFilter(String(sweep.id));
            },
        });
        this.inspector = new Inspector({
            form: $('inspect-form'), input: $('inspect-word'), rows: $('inspect-rows'),
            summary: $('inspect-summary'), error: $('inspect-error'), send,
        });
        this.sampling = new Sampling({
            count: $('sample-count'), prefix: $('sample-prefix'), hide: $('sample-hide'),
            temperature: $('temperature'), note: $('samples-note'), error: $('samples-error'), send,
        });
        $('runs-filter').addEventListener('change', (event) => this.setFilter(event.target.value));
        $('history-export').addEventListener('click', () => this.exportHistory());
        $('history-import').addEventListener('change', (event) => this.importHistory(event));
        $('history-clear').addEventListener('click', () => this.clearHistory());
    }

    store() {
        if (!this.history) throw new Error(this.unavailable ?? 'the history is still opening');
        return this.history;
    }

    message(text, error = false) {
        $('history-message').textContent = text;
        $('history-message').classList.toggle('error', error);
    }

    /** Opens the history and shows it; a sweep left running goes on once the trainer is ready. */
    async load() {
        try {
            this.history = await History.open();
        } catch (err) {
            this.unavailable = `the browser keeps no history here (${err?.message ?? err}); runs are not saved`;
            this.message(this.unavailable, true);
            return;
        }
        const [runs, sweeps] = await Promise.all([this.history.runs(), this.history.sweeps()]);
        this.runs = runs;
        $('runs-filter').replaceChildren(new Option('All runs', 'all'));
        sweeps.forEach((s) => this.addFilter(s));
        this.setFilter('all', runs.slice(-4).map((r) => r.id));
        this.sweep.restore(sweeps);
        if (this.ready) this.sweep.setReady();
    }

    addFilter(sweep) {
        $('runs-filter').append(new Option(`Sweep ${sweep.id} (${sweep.dims.join(' × ')})`, String(sweep.id)));
    }

    setFilter(value, select = []) {
        this.filter = value;
        $('runs-filter').value = value;
        this.showRuns(select);
    }

    showRuns(select = []) {
        const shown = this.filter === 'all' ? this.runs : this.runs.filter((r) => String(r.sweep?.id) === this.filter);
        this.table.show(shown, select);
        $('runs-empty').hidden = shown.length > 0;
    }

    onMessage(msg) {
        this.sweep.onMessage(msg);
        switch (msg.type) {
        case 'backend': this.backend = msg.backend; break;
        case 'config': this.config = msg.config; this.ms = 0; break;
        case 'progress': this.ms = msg.elapsedMs; break;
        case 'state':
            if (!this.ready) {
                this.ready = true;
                if (this.history) this.sweep.setReady();
            }
            break;
        case 'created': this.inspector.refresh(); break;
        case 'eval':
            if (msg.final) this.finished(msg);
            this.inspector.refresh();
            break;
        case 'weights':
            if (msg.tag === 'history') this.record(msg.bytes, msg.bytes ? null : 'weights not kept: the trainer was replaced before they were saved');
            break;
        case 'samples': this.sampling.show(msg); break;
        case 'inspection': this.inspector.show(msg.report); break;
        case 'imported':
            if (this.reopening) this.message(`Reopened run ${this.reopening}: the trainer holds its weights.`);
            this.reopening = null;
            this.inspector.refresh();
            break;
        case 'error':
            if (msg.about === 'inspect') this.inspector.showError(msg.message);
            if (msg.about === 'samples') this.sampling.showError(msg.message);
            if (msg.about === 'weights' && this.pending) this.record(null, `weights not kept: ${msg.message}`);
            if (msg.about === 'weights' && this.reopening) {
                this.message(`could not reopen run ${this.reopening}: ${msg.message}`, true);
                this.reopening = null;
            }
            break;
        default:
        }
    }

    /** A run ended: keep what it did, then ask for its weights. */
    finished(e) {
        this.pending = {
            createdAt: Date.now(), config: this.config, data: this.dataName(), backend: this.backend,
            ms: this.ms, steps: e.step, final: { train: e.train, dev: e.dev, test: e.test },
            curve: curveOf(this.chart), sweep: this.sweep.tag(),
        };
        this.send({ type: 'export', tag: 'history' });
    }

    async record(weights, note = null) {
        const run = this.pending;
        this.pending = null;
        if (!run) return;
        try {
            const saved = await this.store().addRun({ ...run, weightsNote: note }, weights);
            this.runs.push(saved);
        } catch (err) {
            this.message(`run not saved: ${err.message}`, true);
            this.runs.push({ ...run, id: (this.runs.at(-1)?.id ?? 0) + 1, weights: null, weightsNote: 'not saved' });
        }
        this.showRuns([this.runs.at(-1).id]);
        this.sweep.recorded(this.runs.at(-1));
        this.sweep.render();
    }

    reopen(run) {
        this.reopening = run.id;
        this.message(`Reopening run ${run.id}…`);
        this.send({ type: 'import', bytes: run.weights.slice(0) });
    }

    async exportHistory() {
        try {
            const blob = new Blob([await this.store().exportJson()], { type: 'application/json' });
            const a = document.createElement('a');
            a.href = URL.createObjectURL(blob);
            a.download = 'makemore-history.json';
            a.click();
            setTimeout(() => URL.revokeObjectURL(a.href), 1000);
        } catch (err) {
            this.message(`could not export: ${err.message}`, true);
        }
    }

    async importHistory(event) {
        const [file] = event.target.files;
        event.target.value = '';
        if (!file) return;
        try {
            const n = await this.store().importJson(await file.text());
            await this.load();
            this.message(`Imported ${n} runs from ${file.name}.`);
        } catch (err) {
            this.message(`could not import ${file.name}: ${err.message}`, true);
        }
    }

    /** Two clicks: the first asks, the second (within 4 s) clears. */
    async clearHistory() {
        const button = $('history-clear');
        if (!this.confirmClear) {
            this.confirmClear = setTimeout(() => {
                this.confirmClear = null;
                button.textContent = 'Clear history';
            }, 4000);
            button.textContent = `Click again to delete ${this.runs.length} runs`;
            return;
        }
        clearTimeout(this.confirmClear);
        this.confirmClear = null;
        button.textContent = 'Clear history';
        if (this.sweep.sweep?.status === 'running') await this.sweep.cancel();
        try {
            await this.store().clear();
            await this.load();
            this.message('History cleared.');
        } catch (err) {
            this.message(`could not clear: ${err.message}`, true);
        }
    }
}
