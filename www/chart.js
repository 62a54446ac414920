// The live loss chart: the train minibatch loss averaged over buckets of steps,
// dev loss points at each eval, and the uniform baseline −ln(1/V), on a linear
// or log y axis. Redraws at most once per animation frame.

import uPlot from './vendor/uplot/uPlot.esm.js';

/** About this many train points over a whole run. */
const POINTS = 1000;
const MIN_BUCKET = 10;
const HEIGHT = 300;

export class LossChart {
    constructor(el) {
        this.el = el;
        this.log = false;
        this.plot = null;
        this.pending = false;
        this.reset({ steps: 0, uniform: NaN });
        new ResizeObserver(() => this.plot?.setSize(this.size())).observe(el);
    }

    /** Starts an empty chart for a run of `steps` steps. */
    reset({ steps, uniform }) {
        this.bucket = Math.max(MIN_BUCKET, Math.ceil(steps / POINTS));
        this.uniform = uniform;
        this.sum = 0;
        this.count = 0;
        this.x = [];
        this.train = [];
        this.dev = [];
        this.rebuild();
    }

    /** Adds the losses of steps `from`, `from + 1`, …; each full bucket becomes a point. */
    addLosses(from, losses) {
        losses.forEach((loss, i) => {
            this.sum += loss;
            this.count += 1;
            if ((from + i + 1) % this.bucket === 0) {
                this.push(from + i + 1, this.sum / this.count, null);
                this.sum = 0;
                this.count = 0;
            }
        });
        this.redraw();
    }

    addDev(step, loss) {
        this.push(step, null, loss);
        this.redraw();
    }

    setLog(log) {
        this.log = log;
        this.rebuild();
    }

    push(step, train, dev) {
        this.x.push(step);
        this.train.push(train);
        this.dev.push(dev);
    }

    data() {
        return [this.x, this.train, this.dev, this.x.map(() => this.uniform)];
    }

    size() {
        return { width: Math.max(200, this.el.clientWidth), height: HEIGHT };
    }

    redraw() {
        if (this.pending) return;
        this.pending = true;
        requestAnimationFrame(() => {
            this.pending = false;
            this.plot.setData(this.data());
        });
    }

    rebuild() {
        this.plot?.destroy();
        this.plot = new uPlot({
            ...this.size(),
            // A little room on the right, so the last dev point is not cut in half.
            scales: { x: { time: false, range: (u, min, max) => [min, max + (max - min) * 0.02] }, y: { distr: this.log ? 3 : 1 } },
            legend: { live: false },
            axes: [{ label: 'step' }, { label: 'loss' }],
            series: [
                { label: 'step' },
                { label: 'train (smoothed)', stroke: '#2563eb', width: 1.5, spanGaps: true, points: { show: false } },
                { label: 'dev', stroke: '#dc2626', width: 0, points: { show: true, size: 7, fill: '#dc2626' } },
                { label: 'uniform −ln(1/V)', stroke: '#6b7280', dash: [6, 4], width: 1, points: { show: false } },
            ],
        }, this.data(), this.el);
    }
}
