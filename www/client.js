// The page's end of the trainer worker: starts it, forwards its typed messages,
// and turns a crash (a script error, a fatal wasm trap, or no answer at start)
// into one `crash` callback. `restart()` replaces the worker with a fresh one.

const STARTUP_MS = 30000;

export class TrainerClient {
    /** `onMessage(msg)` gets every message but fatal errors; `onCrash(text)` gets those. */
    constructor(onMessage, onCrash) {
        this.onMessage = onMessage;
        this.onCrash = onCrash;
        this.spawn();
    }

    spawn() {
        const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
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
        this.worker?.postMessage(msg, transfer);
    }

    restart() {
        this.worker?.terminate();
        clearTimeout(this.startup);
        this.spawn();
    }
}
