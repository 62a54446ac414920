// The running run's checkpoint in IndexedDB, so a reload, a crash or a closed
// tab loses at most the steps since it was written. One record, replaced at each
// checkpoint: {weights (the safetensors bytes exportWeights gives), step, steps,
// config, data: {name, hash}, chart: {x, train, dev}, evals: [{step, dev}],
// elapsedMs, sweep: {id, index} | null, savedAt}. A database of its own, apart
// from the lab's history, so neither one's version moves with the other.

const DB_NAME = 'makemore-run';
const DB_VERSION = 1;
const STORE = 'checkpoints';
const KEY = 'current';

function request(req) {
    return new Promise((resolve, reject) => {
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
}

/** Resolves when `tx` commits; rejects with its error (a QuotaExceededError, say) when it aborts. */
function committed(tx) {
    return new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error ?? new Error('the browser did not save the run'));
    });
}

/** The hex SHA-256 of `bytes` (an ArrayBuffer): the word list's identity. */
export async function datasetHash(bytes) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export class RunStore {
    /** Opens the database; rejects where the browser has none (IndexedDB missing, blocked or failing). */
    static async open() {
        if (!globalThis.indexedDB) throw new Error('this browser has no IndexedDB');
        if (!globalThis.crypto?.subtle) throw new Error('this page is not in a secure context, so it cannot identify the word list');
        const req = indexedDB.open(DB_NAME, DB_VERSION);
        req.onupgradeneeded = () => req.result.createObjectStore(STORE);
        return new RunStore(await request(req));
    }

    constructor(db) {
        this.db = db;
    }

    async tx(mode, fn) {
        const tx = this.db.transaction(STORE, mode);
        const done = committed(tx);
        // A put that throws at once (a quota check) aborts the transaction; wait for the abort too.
        let result;
        try {
            result = await fn(tx.objectStore(STORE));
        } catch (err) {
            done.catch(() => {});
            try { tx.abort(); } catch { /* already finished */ }
            throw err;
        }
        await done;
        return result;
    }

    /** The saved checkpoint, or null. */
    get() {
        return this.tx('readonly', (s) => request(s.get(KEY))).then((r) => r ?? null);
    }

    /** Replaces the checkpoint; all or nothing (an aborted write leaves the one before). */
    put(record) {
        return this.tx('readwrite', (s) => request(s.put(record, KEY)));
    }

    delete() {
        return this.tx('readwrite', (s) => request(s.delete(KEY)));
    }
}
