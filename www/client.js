// The page's end of the trainer worker: starts it, forwards its typed messages,
// and turns a crash (a script error, a fatal wasm trap, or no answer at start)
// into one `crash` callback. `restart()` replaces the worker with a fresh one.
// It also keeps `auto`'s measured rates in localStorage (workers have none):
// each `create` takes them along, and each `decision` from the worker is saved.
// Every message it sends carries `gen`, the trainer generation it was made for
// (worker.js drops work for a replaced trainer): each create, import or resume
// starts a new one.

const STARTUP_MS = 30000;
/** The requests that replace the worker's trainer, each of a new generation (worker.js reads it too). */
export const REPLACING = new Set(['create', 'import', 'resume']);
const DECISIONS_KEY = 'makemore-wasm:auto-backend';

/** The saved rates by adapter and model shape; none where storage is off (a sandboxed frame, private mode). */
function savedDecisions() {
    try {
        return JSON.parse(localStorage.getItem(DECISIONS_KEY) ?? '{}') ?? {};
    } catch {
        return {};
    }
}

function saveDecision(key, rates) {
    try {
        localStorage.setItem(DECISIONS_KEY, JSON.stringify({ ...savedDecisions(), [key]: { rates, at: new Date().toISOString() } }));
    } catch {
        // No storage: the next page load measures again.
    }
}
const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * A module worker on worker.js. Where the page may not start a worker from that
 * URL directly (a sandboxed iframe has an opaque origin, so the script counts as
 * cross-origin), or where element.js comes from another origin, a blob: worker
 * imports it instead; that needs the host to allow CORS (GitHub Pages does) and,
 * under a CSP, worker-src to allow blob:.
 */
function startWorker(threads, simd) {
    const url = new URL(WORKER_URL);
    if (threads) url.searchParams.set('threads', threads);
    if (simd) url.searchParams.set('simd', simd);
    const viaBlob = () => {
        // A classic worker that imports the module: a blob: module worker does not
        // start from an opaque origin in Chromium.
        const code = `import(${JSON.stringify(url.href)}).catch((err) => postMessage({ type: 'error', about: 'startup', message: String(err), fatal: true }));`;
        return new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
    };
    // Also the case where element.js itself comes from another origin (a CDN).
    if (url.origin !== self.origin) return viaBlob();
    try {
        return new Worker(url, { type: 'module' });
    } catch (err) {
        if (err?.name !== 'SecurityError') throw err;
        return viaBlob();
    }
}

export class TrainerClient {
    /**
     * `onMessage(msg)` gets every message but fatal errors; `onCrash(text)` gets those.
     * `threads` caps the CPU path's threads (1: the single-threaded build; 0: all cores).
     * `calibrate: 'force'` makes `auto` time both backends even on a fallback adapter.
     * `simd` ('simd128' or 'relaxed') picks the single-threaded wasm build (wasm.js); '' lets the browser decide.
     */
    constructor(onMessage, onCrash, { threads = 0, calibrate = '', simd = '' } = {}) {
        this.onMessage = onMessage;
        this.onCrash = onCrash;
        this.threads = threads;
        this.simd = simd;
        this.calibrate = calibrate;
        /** The generation of the trainer the last create, import or resume asked for. */
        this.gen = 0;
        this.spawn();
    }

    spawn() {
        const worker = startWorker(this.threads, this.simd);
        const crash = (text) => {
            if (this.worker !== worker) return;
            clearTimeout(this.startup);
            worker.terminate();
            this.worker = null;
            this.onCrash(text);
        };
        this.startup = setTimeout(() => crash('the trainer did not start in time'), STARTUP_MS);
        worker.onmessage = ({ data }) => {
            if (data.type === 'ready') clearTimeout(this.startup);
            if (data.type === 'decision') saveDecision(data.key, data.rates);
            if (data.type === 'error' && data.fatal) crash(data.message);
            else this.onMessage(data);
        };
        worker.onerror = (event) => {
            event.preventDefault();
            crash(event.message || 'the trainer\'s script failed to load');
        };
        worker.onmessageerror = () => crash('a message from the trainer could not be read');
        this.worker = worker;
    }

    send(msg, transfer = []) {
        if (REPLACING.has(msg.type)) this.gen += 1;
        const out = msg.type === 'create' ? { calibrate: this.calibrate, ...msg, decisions: savedDecisions() } : msg;
        this.worker?.postMessage({ ...out, gen: this.gen }, transfer);
    }

    restart() {
        this.close();
        this.spawn();
    }

    close() {
        clearTimeout(this.startup);
        this.worker?.terminate();
        this.worker = null;
    }
}
