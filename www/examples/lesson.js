// The lesson's glue: optional ?backend=cpu|webgpu|auto and ?steps=N for both
// trainers, a "Start both" button, and the comparison table filled from the
// elements' `done` events.

const params = new URLSearchParams(location.search);
const trainers = [...document.querySelectorAll('makemore-trainer')];
for (const el of trainers) {
    for (const key of ['backend', 'steps', 'seed']) {
        if (params.has(key)) el.setAttribute(key, params.get(key));
    }
    if (params.has('autostart')) el.setAttribute('autostart', '');
}

await import('../element.js');

document.getElementById('start-both').addEventListener('click', () => trainers.forEach((el) => el.start()));

const results = {};
const cell = (id, split) => document.querySelector(`td[data-for="${id}"][data-split="${split}"]`);

for (const el of trainers) {
    el.addEventListener('done', ({ detail }) => {
        results[el.id] = detail;
        for (const split of ['train', 'dev', 'test']) cell(el.id, split).textContent = detail[split].toFixed(4);
        compare();
    });
    el.addEventListener('error', ({ detail }) => {
        document.getElementById('verdict').textContent = `${el.id}: ${detail.message}`;
    });
}

function compare() {
    const a = results['with-direct'];
    const b = results['without-direct'];
    const verdict = document.getElementById('verdict');
    if (!a || !b) {
        verdict.textContent = 'One model has finished; waiting for the other…';
        return;
    }
    for (const split of ['train', 'dev', 'test']) {
        const better = a[split] <= b[split] ? 'with-direct' : 'without-direct';
        cell(better, split).classList.add('best');
    }
    const diff = b.dev - a.dev;
    verdict.textContent = diff > 0
        ? `With direct connections the dev loss is lower by ${diff.toFixed(4)} (${a.dev.toFixed(4)} vs ${b.dev.toFixed(4)}).`
        : `Without direct connections the dev loss is lower by ${(-diff).toFixed(4)} (${b.dev.toFixed(4)} vs ${a.dev.toFixed(4)}).`;
    verdict.dataset.done = 'true';
}
