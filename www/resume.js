// The page loses nothing: the running run is saved in this browser (run-store.js)
// at each dev evaluation (at most one save every SAVE_GAP_MS), when it pauses
// and at least every SAVE_EVERY_MS while
// it trains, and after a reload, a crash or a closed tab the page offers to pick
// it up where it stopped. A sweep's interrupted run resumes the same way
// (lab/sweep.js asks `resumeSweepRun`). Saving asks the worker for the weights
// (its 'export', between two chunks) and writes them here, so training never
// waits on the database. Where the browser will not store anything, a plain
// note says so and training goes on.

import { count } from './format.js';
import { datasetHash, RunStore } from './run-store.js';

const SAVE_EVERY_MS = 30_000;
/** At most one save a second: evaluations every few steps would otherwise export the weights each time. */
const SAVE_GAP_MS = 1000;

/** "10:42", or "3 Dec, 10:42" when not today. */
function when(ms) {
    const at = new Date(ms);
    const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    return at.toDateString() === new Date().toDateString() ? time : `${at.toLocaleDateString([], { day: 'numeric', month: 'short' })}, ${time}`;
}

/** The chart's points up to `step` (a checkpoint holds no loss from after its weights). */
function chartUpTo(chart, step) {
    const keep = chart.x.map((x, i) => i).filter((i) => chart.x[i] <= step);
    return { x: keep.map((i) => chart.x[i]), train: keep.map((i) => chart.train[i]), dev: keep.map((i) => chart.dev[i]) };
}

export class RunCheckpoints {
    /**
     * `els`: banner, message, resume, discard, error (the banner's), saved (a status
     * line), unsaved and unsavedDetail (the storage note). `send(msg)`: to the worker.
     * `gen()`: the client's trainer generation. `run()`: the page's {text, dataName,
     * config, sweep, uniform}. `chart`: the live loss chart. `restored(record, msg)`:
     * the page shows a resumed run's numbers.
     */
    constructor({ els, send, gen, run, chart, restored }) {
        Object.assign(this, { els, send, gen, run, chart, restored });
        this.store = null;
        this.offered = null; // the record the banner offers
        this.restoring = null; // the record a resume request is bringing back
        this.exporting = null; // {gen, epoch} of the export under way
        this.epoch = 0; // moves on at each clear: a later write of an older run is dropped
        this.writes = Promise.resolve(); // puts and deletes, one after another
        this.hashes = new WeakMap(); // word list → its SHA-256
        this.lastSave = 0; // when the last save asked for the weights
        this.due = Infinity; // when training has gone SAVE_EVERY_MS unsaved
        this.broken = false; // diverged or failed: nothing to save until rewound
        this.evals = [];
        this.initialLoss = NaN;
        this.elapsedMs = 0;
        this.opened = RunStore.open().then((store) => { this.store = store; }, (err) => this.unavailable(err));
        els.resume.addEventListener('click', () => this.resume().catch((err) => this.refuse(err.message)));
        els.discard.addEventListener('click', () => this.clear());
    }

    /** Offers the saved run, if any (at each worker start: the page's, or a restart after a crash); a sweep's run is its sweep's to resume. */
    async load() {
        await this.opened;
        const record = await this.saved();
        if (record && !record.sweep) this.offer(record);
    }

    async saved() {
        try {
            return this.store ? await this.store.get() : null;
        } catch (err) {
            this.unavailable(err);
            return null;
        }
    }

    offer(record) {
        this.offered = record;
        const { els } = this;
        els.message.textContent = `A run from ${when(record.savedAt)} stopped at step ${count(record.step)} of ${count(record.steps)}.`;
        els.resume.textContent = `Resume run from step ${count(record.step)}`;
        els.error.hidden = true;
        els.banner.hidden = false;
    }

    refuse(message) {
        this.els.error.textContent = message;
        this.els.error.hidden = false;
        this.els.banner.hidden = false;
    }

    /** The storage note, once: training goes on, unsaved. */
    unavailable(err) {
        this.store = null;
        this.els.unsavedDetail.textContent = String(err?.message ?? err);
        this.els.unsaved.hidden = false;
        this.els.saved.textContent = '';
    }

    hash(text) {
        if (!this.hashes.has(text)) this.hashes.set(text, datasetHash(text));
        return this.hashes.get(text);
    }

    /** Whether the page's word list is the one `record` trained on. */
    async sameData(record) {
        const { text } = this.run();
        return Boolean(text) && (await this.hash(text)) === record.data.hash;
    }

    /** The banner's button: the same word list, config, weights and chart, and on training. */
    async resume() {
        const record = this.offered;
        if (!record) return;
        if (!this.run().text) throw new Error('The word list is still loading; try again in a moment.');
        if (!(await this.sameData(record))) {
            throw new Error(`That run trained on another word list (${record.data.name}). Choose that file again under Data, then resume it.`);
        }
        this.els.banner.hidden = true;
        this.start(record, 'resume');
    }

    /** Resumes sweep `id`'s run `index` from its checkpoint, when there is one for the page's word list. */
    async resumeSweepRun(id, index) {
        await this.opened;
        const record = await this.saved();
        if (record?.sweep?.id !== id || record.sweep.index !== index || !(await this.sameData(record))) return false;
        this.start(record, 'sweep');
        return true;
    }

    start(record, tag) {
        this.restoring = record;
        const { text } = this.run();
        this.send({ type: 'resume', text, config: record.config, weights: record.weights, tag, elapsedMs: record.elapsedMs });
    }

    /** Forgets the saved run: it finished, or the learner started another, reset or discarded it. */
    clear() {
        this.epoch += 1;
        this.offered = null;
        this.els.banner.hidden = true;
        this.els.saved.textContent = '';
        delete this.els.saved.dataset.step;
        delete this.els.saved.dataset.cleared;
        const epoch = this.epoch;
        this.writes = this.writes
            .then(() => this.store?.delete())
            // Marks when the browser has forgotten the run (what a reload will find).
            .then(() => { if (epoch === this.epoch) this.els.saved.dataset.cleared = 'true'; })
            .catch((err) => this.unavailable(err));
    }

    /** Asks the worker for the weights; `weights` writes them. */
    save() {
        if (!this.store || this.broken || this.exporting) return;
        this.exporting = { gen: this.gen(), epoch: this.epoch };
        this.lastSave = Date.now();
        this.due = this.lastSave + SAVE_EVERY_MS;
        this.send({ type: 'export', tag: 'checkpoint' });
    }

    async write({ bytes, step }) {
        const asked = this.exporting;
        this.exporting = null;
        // No bytes: the trainer was replaced first; another generation or epoch: another run's.
        if (!bytes || !asked || asked.gen !== this.gen() || asked.epoch !== this.epoch) return;
        const { text, dataName, config, sweep } = this.run();
        const record = {
            weights: bytes, step, steps: config.steps, config,
            data: { name: dataName, hash: await this.hash(text) },
            chart: chartUpTo(this.chart, step), evals: this.evals.filter((e) => e.step <= step),
            initialLoss: this.initialLoss, elapsedMs: this.elapsedMs,
            sweep: sweep ? { id: sweep.id, index: sweep.index } : null, savedAt: Date.now(),
        };
        this.writes = this.writes.then(async () => {
            if (asked.epoch !== this.epoch || !this.store) return;
            await this.store.put(record);
            this.els.saved.textContent = `Progress saved in this browser at step ${count(step)}.`;
            this.els.saved.dataset.step = String(step);
            delete this.els.saved.dataset.cleared;
        }).catch((err) => this.unavailable(err));
    }

    /** The resumed trainer is ready: its chart, evaluations and numbers come back; a page resume trains on. */
    restore({ tag }) {
        const record = this.restoring;
        this.restoring = null;
        if (!record) return;
        const { chart } = this;
        chart.reset({ steps: record.steps, uniform: this.run().uniform });
        record.chart.x.forEach((x, i) => chart.push(x, record.chart.train[i], record.chart.dev[i]));
        chart.redraw();
        this.evals = [...record.evals];
        this.initialLoss = record.initialLoss;
        this.elapsedMs = record.elapsedMs;
        this.restored(record);
        if (tag === 'resume') this.send({ type: 'start' });
    }

    onMessage(msg) {
        switch (msg.type) {
        case 'ready': this.load(); break;
        case 'config':
            this.evals = [];
            this.broken = false;
            this.elapsedMs = 0;
            break;
        case 'created': this.initialLoss = msg.initialLoss; break;
        case 'resumed': this.restore(msg); break;
        case 'state':
            this.els.resume.disabled = false; // the page's word list is loaded
            if (msg.state === 'running') this.due = Date.now() + SAVE_EVERY_MS;
            if (msg.state === 'paused') this.save();
            break;
        case 'progress':
            this.elapsedMs = msg.elapsedMs;
            if (Date.now() >= this.due) this.save();
            break;
        case 'eval':
            if (msg.final) {
                this.clear();
            } else {
                this.evals.push({ step: msg.step, dev: msg.dev });
                if (Date.now() - this.lastSave >= SAVE_GAP_MS) this.save();
            }
            break;
        case 'diverged': this.broken = true; break;
        case 'rewound':
            this.broken = false;
            this.evals = this.evals.filter((e) => e.step <= msg.step);
            break;
        case 'weights': if (msg.tag === 'checkpoint') this.write(msg); break;
        case 'error':
            if (msg.about === 'training') this.broken = true;
            if (msg.about === 'weights') this.exporting = null;
            if (msg.about === 'resume' && this.restoring) {
                this.restoring = null;
                this.refuse(`The run could not be resumed: ${msg.message}`);
            }
            break;
        default:
        }
    }
}
