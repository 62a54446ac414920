// The learning-rate finder (makemore part 2): the worker sweeps the rate
// exponentially from the current weights on a scratch copy (the run keeps its
// weights), this module draws loss against log10(lr) and offers the suggested
// rate, which one click puts in the settings. How the rate is picked is Rust's
// (src/lr_find.rs): the smoothed loss's minimum divided by a safety factor.

import uPlot from './vendor/uplot/uPlot.esm.js';

const HEIGHT = 220;

export class LrFinder {
    /** `els`: {run, use, status, chart}; `send(msg)`: to the worker; `setLr(lr)`: into the settings. */
    constructor({ els, send, setLr }) {
        Object.assign(this, { els, send, setLr });
        this.safety = null;
        this.suggested = null;
        this.plot = null;
        els.run.addEventListener('click', () => this.run());
        els.use.addEventListener('click', () => this.suggested && this.setLr(this.suggested));
        new ResizeObserver(() => this.plot?.setSize(this.size())).observe(els.chart);
    }

    size() {
        return { width: Math.max(200, this.els.chart.clientWidth), height: HEIGHT };
    }

    run() {
        this.els.run.disabled = true;
        this.els.use.hidden = true;
        this.els.status.textContent = 'Sweeping the learning rate from 0.001 to 1 on a copy of the model…';
        this.send({ type: 'lr-find' });
    }

    onMessage(msg) {
        if (msg.type === 'constants') this.safety = msg.diagnostics.lrFindSafety;
        if (msg.type === 'error' && msg.about === 'lr-find') {
            this.els.status.textContent = `The finder stopped: ${msg.message}`;
        }
        if (msg.type !== 'lr-find') return;
        this.els.run.disabled = false;
        if (!msg.result) return;
        const r = msg.result;
        this.suggested = Number(r.suggestedLr.toPrecision(2));
        this.els.status.textContent = `The loss is lowest near lr ${r.valleyLr.toPrecision(2)}; a rate ${this.safety ?? ''} times smaller, `
            + `${this.suggested}, trains safely (the settings have ${msg.lr}).`;
        this.els.use.textContent = `Use ${this.suggested}`;
        this.els.use.hidden = false;
        this.plot?.destroy();
        const x = r.lrs.map((l) => Math.log10(l));
        this.plot = new uPlot({
            ...this.size(),
            scales: { x: { time: false } },
            legend: { live: false },
            axes: [{ label: 'log10 learning rate' }, { label: 'loss' }],
            series: [
                { label: 'log10 lr' },
                { label: 'loss', stroke: '#93c5fd', width: 1, points: { show: false } },
                { label: 'smoothed', stroke: '#2563eb', width: 2, points: { show: false } },
            ],
        }, [x, r.losses, r.smoothed], this.els.chart);
    }
}
