// The run history in IndexedDB: every finished run (config, curve, losses,
// backend, time, and its weights up to a size cap) and every sweep (its plan
// and whether it is running), so a reload finds both. Also the history as a
// JSON file, weights in base64, for export and import.

const DB_NAME = 'makemore-lab';
const DB_VERSION = 1;
const RUNS = 'runs';
const SWEEPS = 'sweeps';
const FORMAT = 'makemore-lab-history/1';

/** Weights kept per run, and for all runs together. */
export const WEIGHTS_CAP = 4 << 20;
export const WEIGHTS_TOTAL_CAP = 64 << 20;

const mb = (bytes) => `${(bytes / (1 << 20)).toFixed(1)} MB`;

function request(req) {
    return new Promise((resolve, reject) => {
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
}

function open() {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
        req.result.createObjectStore(RUNS, { keyPath: 'id', autoIncrement: true });
        req.result.createObjectStore(SWEEPS, { keyPath: 'id', autoIncrement: true });
    };
    return request(req);
}

export class History {
    /** Opens the database; rejects where the browser has no IndexedDB (a private window, say). */
    static async open() {
        return new History(await open());
    }

    constructor(db) {
        this.db = db;
    }

    async tx(store, mode, fn) {
        const tx = this.db.transaction(store, mode);
        const result = await fn(tx.objectStore(store));
        await new Promise((resolve, reject) => {
            tx.oncomplete = resolve;
            tx.onerror = () => reject(tx.error);
            tx.onabort = () => reject(tx.error ?? new Error('the history could not be saved'));
        });
        return result;
    }

    runs() {
        return this.tx(RUNS, 'readonly', (s) => request(s.getAll()));
    }

    sweeps() {
        return this.tx(SWEEPS, 'readonly', (s) => request(s.getAll()));
    }

    /**
     * Saves a finished run. Its weights are kept when they fit under the caps;
     * otherwise the run says why in `weightsNote`. Resolves to the stored run.
     */
    async addRun(run, weights) {
        const stored = (await this.runs()).reduce((sum, r) => sum + (r.weights?.byteLength ?? 0), 0);
        let note = null;
        if (weights && weights.byteLength > WEIGHTS_CAP) {
            note = `weights not kept: ${mb(weights.byteLength)} is over the ${mb(WEIGHTS_CAP)} kept per run`;
        } else if (weights && stored + weights.byteLength > WEIGHTS_TOTAL_CAP) {
            note = `weights not kept: the history already holds ${mb(stored)} of weights (cap ${mb(WEIGHTS_TOTAL_CAP)}); clear it to keep more`;
        }
        const record = { ...run, weights: note ? null : weights ?? null, weightsNote: note ?? run.weightsNote ?? null };
        record.id = await this.tx(RUNS, 'readwrite', (s) => request(s.add(record)));
        return record;
    }

    async putSweep(sweep) {
        const id = await this.tx(SWEEPS, 'readwrite', (s) => request(s.put(sweep)));
        return { ...sweep, id };
    }

    async clear() {
        await this.tx(RUNS, 'readwrite', (s) => request(s.clear()));
        await this.tx(SWEEPS, 'readwrite', (s) => request(s.clear()));
    }

    /** The whole history as a JSON string. */
    async exportJson() {
        const runs = (await this.runs()).map((r) => ({ ...r, weights: r.weights ? toBase64(r.weights) : null }));
        return JSON.stringify({ format: FORMAT, runs, sweeps: await this.sweeps() });
    }

    /**
     * Adds the runs and sweeps of an exported file to the history (new ids; a
     * run keeps pointing at its sweep). Resolves to the number of runs added.
     */
    async importJson(text) {
        let file;
        try {
            file = JSON.parse(text);
        } catch {
            throw new Error('the file is not JSON; choose a history exported from this page');
        }
        if (file?.format !== FORMAT || !Array.isArray(file.runs) || !Array.isArray(file.sweeps)) {
            throw new Error(`the file is not a makemore history (expected format ${FORMAT}); choose one exported from this page`);
        }
        const damaged = file.runs.find((r) => !r?.config || !r?.final || !r?.curve);
        if (damaged) throw new Error(`run ${damaged?.id} has no settings, losses or curve; the file is damaged`);
        const sweepIds = new Map();
        for (const { id, ...sweep } of file.sweeps) {
            const status = sweep.status === 'done' ? 'done' : 'paused';
            sweepIds.set(id, (await this.putSweep({ ...sweep, status })).id);
        }
        for (const { id, weights, ...run } of file.runs) {
            const sweep = run.sweep ? { ...run.sweep, id: sweepIds.get(run.sweep.id) } : null;
            await this.tx(RUNS, 'readwrite', (s) => request(s.add({ ...run, sweep, weights: weights ? fromBase64(weights) : null })));
        }
        return file.runs.length;
    }
}

function toBase64(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
}

function fromBase64(text) {
    try {
        return Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer;
    } catch {
        throw new Error('a run\'s weights are not valid base64; the file is damaged');
    }
}
