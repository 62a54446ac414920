// How long a run will take, in plain words, from a measured rate: the worker's
// steps/s while it trains, and before it starts the last rate measured for the
// same backend and model shape (kept in this browser's localStorage), or else a
// one-second timing of those settings on a scratch trainer.

import { about, count } from './format.js';

const PREFIX = 'makemore-rate:';

/** The settings that decide the speed of a step, as a storage key. */
export function rateKey(backend, c) {
    return [backend, c.block_size, c.n_embd, c.n_hidden, c.direct ? 'd' : '', c.batch_size, c.optimizer].join('|');
}

export function remember(key, stepsPerSec) {
    try {
        if (Number.isFinite(stepsPerSec) && stepsPerSec > 0) localStorage.setItem(PREFIX + key, String(stepsPerSec));
    } catch { /* storage refused (private mode): the estimate waits for a measurement */ }
}

export function recall(key) {
    try {
        const rate = Number(localStorage.getItem(PREFIX + key));
        return rate > 0 ? rate : null;
    } catch {
        return null;
    }
}

const backendName = (b) => (b === 'webgpu' ? 'WebGPU' : 'the CPU');

/**
 * The run panel's estimate: before Start from the last rate for these settings,
 * while training from the worker's steps/s. main.js hands it every message.
 */
export class RunEstimate {
    /**
     * `el`: where the sentence goes; `settings()`: the settings form as a config;
     * `probe(config)`: asks the worker to time `config` (a `rate-probe` tagged 'estimate').
     */
    constructor(el, settings, probe) {
        Object.assign(this, { el, settings, probe });
        this.backend = null;
        this.state = 'idle';
        this.probing = null; // the settings being timed
    }

    onMessage(msg) {
        switch (msg.type) {
        case 'backend': this.backend = msg.backend; this.update(); break;
        case 'state': this.state = msg.state; this.update(); break;
        case 'rate-probe':
            if (msg.tag !== 'estimate' || !this.probing) break;
            remember(rateKey(msg.backend, this.probing), msg.stepsPerSec);
            this.probing = null;
            // A rate from another device than the page's would only ask for another probe.
            if (msg.backend === this.backend) this.update();
            break;
        case 'error':
            if (msg.about !== 'estimate' || !this.probing) break;
            this.probing = null;
            this.el.textContent = `How long it takes shows once it has run a few steps on ${backendName(this.backend)}.`;
            break;
        case 'progress': {
            const c = this.settings();
            remember(rateKey(this.backend, c), msg.stepsPerSec);
            const left = (msg.steps - msg.step) / msg.stepsPerSec;
            this.el.textContent = `${about(left)} left on ${backendName(this.backend)} (${Math.round(msg.stepsPerSec)} steps a second).`;
            break;
        }
        default: break;
        }
    }

    /** The estimate before a run, for the settings as they are now. */
    update() {
        if (this.state === 'running' || this.state === 'paused' || !this.backend) return;
        if (this.state === 'done') {
            this.el.textContent = '';
            return;
        }
        const c = this.settings();
        const rate = recall(rateKey(this.backend, c));
        if (rate) {
            this.el.textContent = `${count(c.steps)} steps will take ${about(c.steps / rate)} on ${backendName(this.backend)} (at the ${Math.round(rate)} steps a second measured last time).`;
            return;
        }
        this.el.textContent = `Measuring how fast these settings train on ${backendName(this.backend)}…`;
        if (this.probing && rateKey(this.backend, this.probing) === rateKey(this.backend, c)) return;
        this.probing = c;
        this.probe(c);
    }
}
