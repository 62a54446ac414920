// The curves of the selected runs on one chart: each run's smoothed train loss
// as a line and its dev evaluations as points, in one colour per run.

import uPlot from '../vendor/uplot/uPlot.esm.js';

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];
const HEIGHT = 260;

export class OverlayChart {
    constructor(el, empty) {
        this.el = el;
        this.empty = empty;
        this.plot = null;
        new ResizeObserver(() => this.plot?.setSize(this.size())).observe(el);
    }

    size() {
        return { width: Math.max(200, this.el.clientWidth), height: HEIGHT };
    }

    /** Draws `runs` (each with `id`, `label` and `curve: {x, train, dev}`). */
    show(runs) {
        this.plot?.destroy();
        this.plot = null;
        this.empty.hidden = runs.length > 0;
        if (!runs.length) return;
        // One table per run, [x, train, dev], merged on x; steps a run lacks are gaps.
        const tables = runs.map(({ curve }) => [curve.x, curve.train, curve.dev]);
        const data = uPlot.join(tables, tables.map(() => [0, 0, 0]));
        const series = [{ label: 'step' }];
        runs.forEach((run, i) => {
            const stroke = COLORS[i % COLORS.length];
            series.push(
                { label: `#${run.id} ${run.label}`, stroke, width: 1.5, spanGaps: true, points: { show: false } },
                { label: `#${run.id} dev`, stroke, width: 0, points: { show: true, size: 6, fill: stroke } },
            );
        });
        this.plot = new uPlot({
            ...this.size(),
            scales: { x: { time: false } },
            legend: { live: false },
            axes: [{ label: 'step' }, { label: 'loss' }],
            series,
        }, data, this.el);
    }
}
