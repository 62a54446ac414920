// The sweep panel and its driver: up to three settings with their values, a
// grid or a random search, a step budget per run. Runs go one after another
// through the page's trainer (same seed, split and backend: the settings form
// is the base), each recorded in the history when it finishes. The plan and its
// status live in IndexedDB, so a reload picks the sweep up at its unfinished
// run, from that run's last checkpoint where the page saved one (resume.js);
// pause and resume work within a run.

import { count, loss } from '../format.js';
import { best } from './runs-table.js';
import { label, MAX_DIMS, parseDim, plan, runConfig, SWEEPABLE } from './sweep-plan.js';


export class Sweep {
    /**
     * `els`: the panel's elements. `history`: the store. `send(msg)`: to the
     * worker. `create(config)`: a new trainer tagged 'sweep'. `resumeRun(id, index)`:
     * that run's trainer back from its checkpoint, tagged 'sweep' (resolves to false
     * where there is none). `baseConfig()`: the
     * settings form. `runsOf(id)`: the recorded runs of sweep `id`.
     * `onStart(sweep)`: a new sweep began.
     */
    constructor({ els, history, send, create, resumeRun, baseConfig, runsOf, onStart }) {
        Object.assign(this, { els, history, send, create, resumeRun, baseConfig, runsOf, onStart });
        this.sweep = null;
        this.current = null; // {index, phase: 'creating' | 'training'}
        this.ready = false;
        this.fillKeys();
        els.form.addEventListener('submit', (event) => {
            event.preventDefault();
            this.start().catch((err) => this.fail(err.message));
        });
        els.pause.addEventListener('click', () => (this.sweep?.status === 'running' ? this.pause() : this.resume()));
        els.cancel.addEventListener('click', () => this.cancel());
        els.mode.addEventListener('change', () => { els.count.disabled = els.mode.value !== 'random'; });
        els.count.disabled = els.mode.value !== 'random';
    }

    fillKeys() {
        for (const select of this.els.keys) {
            select.append(new Option('—', ''), ...Object.keys(SWEEPABLE).map((k) => new Option(k, k)));
        }
    }

    fail(message) {
        this.els.error.textContent = message;
        this.els.error.hidden = !message;
    }

    /** The sweep to go on with after a reload: the newest one not done. */
    restore(sweeps) {
        const open = sweeps.filter((s) => s.status === 'running' || s.status === 'paused').at(-1);
        this.sweep = open ?? sweeps.at(-1) ?? null;
        this.render();
        this.maybeNext();
    }

    /** The trainer exists (after the page loaded its data). */
    setReady() {
        this.ready = true;
        this.maybeNext();
    }

    maybeNext() {
        if (this.ready && this.sweep?.status === 'running' && !this.current) this.next();
    }

    async start() {
        this.fail('');
        const dims = this.els.keys
            .map((select, i) => [select.value, this.els.values[i].value])
            .filter(([key]) => key)
            .map(([key, text]) => parseDim(key, text));
        if (!dims.length) throw new Error(`pick 1 to ${MAX_DIMS} settings to sweep, each with its values`);
        const mode = this.els.mode.value;
        const base = this.baseConfig();
        const budget = Number(this.els.budget.value);
        const runs = plan({ dims, mode, count: Number(this.els.count.value), seed: base.seed ?? 0 });
        runConfig(base, runs[0], budget); // checks the budget before anything starts
        if (this.sweep?.status === 'running') await this.cancel();
        this.sweep = await this.history.putSweep({
            createdAt: Date.now(), base, mode, budget, runs, status: 'running',
            dims: dims.map((d) => d.key),
        });
        this.current = null;
        this.onStart(this.sweep);
        this.next();
    }

    async save(status) {
        this.sweep = await this.history.putSweep({ ...this.sweep, status });
        this.render();
    }

    /** Creates the first run not recorded yet, or ends the sweep. */
    async next() {
        const s = this.sweep;
        const done = new Set(this.runsOf(s.id).map((r) => r.sweep.index));
        const index = s.runs.findIndex((_, i) => !done.has(i));
        if (index < 0) {
            this.current = null;
            await this.save('done');
            return;
        }
        this.current = { index, phase: 'creating' };
        this.render();
        if (!(await this.resumeRun(s.id, index))) this.create(runConfig(s.base, s.runs[index], s.budget));
    }

    async pause() {
        if (this.current?.phase === 'training') this.send({ type: 'pause' });
        await this.save('paused');
    }

    async resume() {
        if (!this.sweep) return;
        await this.save('running');
        if (this.current?.phase === 'training') this.send({ type: 'start' });
        else this.maybeNext();
    }

    async cancel() {
        if (this.current?.phase === 'training') this.send({ type: 'pause' });
        this.current = null;
        await this.save('stopped');
    }

    /** The sweep facts of the run now finishing, for its history record. */
    tag() {
        if (this.current?.phase !== 'training') return null;
        const { id, runs } = this.sweep;
        return { id, index: this.current.index, total: runs.length, overrides: runs[this.current.index] };
    }

    /** A run was recorded: go on to the next one. */
    recorded(run) {
        if (!run.sweep || run.sweep.id !== this.sweep?.id) return;
        this.current = null;
        this.render();
        this.maybeNext();
    }

    onMessage(msg) {
        if (!this.current) return;
        if (msg.type === 'config' && msg.about === 'sweep' && this.current.phase === 'creating') {
            this.current.phase = 'training';
            if (this.sweep.status === 'running') this.send({ type: 'start' });
        } else if (msg.type === 'config' && msg.about !== 'sweep') {
            // Another trainer replaced the sweep's (Reset, new data, loaded weights).
            this.current = null;
            this.save('paused');
            this.fail('The sweep paused because another run replaced its trainer; Resume sweep starts its run again, or picks it up from its last save where the page still holds one.');
        } else if (msg.type === 'error' && msg.about === 'sweep') {
            this.fail(`Run ${this.current.index + 1} could not start: ${msg.message}`);
            this.current = null;
            this.save('paused');
        } else if ((msg.type === 'diverged' || (msg.type === 'error' && msg.about === 'training')) && this.current.phase === 'training') {
            // A run that diverged (or failed) ends where it stopped; the sweep goes on.
            this.send({ type: 'stop' });
        } else if (msg.type === 'progress' && this.current.phase === 'training') {
            this.render(`step ${count(msg.step)} of ${count(msg.steps)}`);
        }
    }

    render(detail = '') {
        const { els, sweep: s } = this;
        els.pause.disabled = !s || s.status === 'done' || s.status === 'stopped';
        els.cancel.disabled = !s || s.status === 'done' || s.status === 'stopped';
        els.pause.textContent = s?.status === 'running' ? 'Pause sweep' : 'Resume sweep';
        document.body.dataset.sweep = s?.status ?? 'none';
        if (!s) {
            els.progress.textContent = 'No sweep yet.';
            els.best.replaceChildren();
            return;
        }
        const recorded = this.runsOf(s.id);
        const n = s.runs.length;
        const words = {
            running: this.current ? `Run ${this.current.index + 1} of ${n}: ${label(s.runs[this.current.index])}${detail ? ` · ${detail}` : ''}` : `Run ${recorded.length + 1} of ${n}`,
            paused: `Paused after ${recorded.length} of ${n} runs.`,
            stopped: `Cancelled after ${recorded.length} of ${n} runs.`,
            done: `Done: ${n} runs of ${count(s.budget)} steps.`,
        };
        els.progress.textContent = `Sweep ${s.id} (${s.mode}, ${s.dims.join(' × ')}): ${words[s.status]}`;
        const winner = best(recorded);
        if (!winner) {
            els.best.replaceChildren();
            return;
        }
        const strong = document.createElement('strong');
        strong.textContent = label(winner.sweep.overrides);
        const test = s.status === 'done' ? `; its test loss ${loss(winner.final.test)} (shown for the winner only)` : '';
        els.best.replaceChildren(`${s.status === 'done' ? 'Best' : 'Best so far'}: `, strong, ` with dev ${loss(winner.final.dev)}${test}.`);
    }
}
