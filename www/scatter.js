// The embedding table as a scatter: one label per character at its 2-D
// coordinates (uPlot's x/y mode draws the axes; a draw hook places the labels).

import uPlot from './vendor/uplot/uPlot.esm.js';

const HEIGHT = 320;

function drawLabels(u) {
    const [xs, ys] = u.data[1];
    const { ctx } = u;
    ctx.save();
    const size = Math.round(14 * devicePixelRatio);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    u.chars.forEach((ch, i) => {
        // '.' (start/end) is drawn larger and in red so it can be found.
        ctx.font = `${ch === '.' ? 'bold ' : ''}${ch === '.' ? 2 * size : size}px ui-monospace, monospace`;
        ctx.fillStyle = ch === '.' ? '#dc2626' : '#1e3a8a';
        ctx.fillText(ch, u.valToPos(xs[i], 'x', true), u.valToPos(ys[i], 'y', true));
    });
    ctx.restore();
}

export class EmbeddingScatter {
    constructor(el) {
        this.plot = new uPlot({
            mode: 2,
            width: Math.max(200, el.clientWidth),
            height: HEIGHT,
            legend: { show: false },
            cursor: { show: false },
            scales: { x: { time: false }, y: {} },
            axes: [{ label: 'x' }, { label: 'y' }],
            series: [{}, { paths: () => null, points: { show: false } }],
            hooks: { draw: [drawLabels] },
        }, [null, [[], []]], el);
        this.plot.chars = [];
        new ResizeObserver(() => this.plot.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT })).observe(el);
    }

    /** Shows `{chars, x, y, method}`; returns a caption for the projection used. */
    update({ chars, x, y, method }) {
        this.plot.chars = chars;
        this.plot.axes[0].label = method === 'pca' ? 'principal component 1' : 'dimension 1';
        this.plot.axes[1].label = method === 'pca' ? 'principal component 2' : 'dimension 2';
        this.plot.setData([null, [x, y]]);
        return method === 'pca' ? '(first two principal components of C)' : '(the dimensions of C)';
    }
}
