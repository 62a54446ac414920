// The page: wires the controls to the trainer worker and shows what it reports.
// All training happens in worker.js; nothing here waits on it.

import { TrainerClient } from './client.js';
import { LossChart } from './chart.js';
import { Lab } from './lab/lab.js';
import { EmbeddingScatter } from './scatter.js';
import { DiagnosticsPanel } from './diagnostics.js';
import { RunEstimate } from './eta.js';
import { E02View } from './lab/e02.js';
import { LrFinder } from './lr-finder.js';
import { RunCheckpoints } from './resume.js';
import { count, duration, loss, rate } from './format.js';
import { isolatedByServiceWorker, resume as resumeIsolation, wire as wireIsolation } from './isolation.js';
import { applyLimits, fillForm, fillFromUrl, readForm, sameConfig, saveToUrl } from './settings.js';
import { setConstants } from './lab/sweep-plan.js';

const $ = (id) => document.getElementById(id);
const form = $('settings');
const chart = new LossChart($('chart'));
const scatter = new EmbeddingScatter($('scatter'));

let presets = {};
let text = null; // the word list in use
let dataName = 'names.txt';
let pendingData = null; // {text, name} while a new word list is being tried
let applied = null; // the trainer's config
let state = 'idle';
let uniform = NaN;

function showError(id, message) {
    $(id).textContent = message ?? '';
    $(id).hidden = !message;
}

function setText(values) {
    for (const [id, value] of Object.entries(values)) $(id).textContent = value;
}

// ---- driving the worker ----------------------------------------------------

// ?threads=N caps the CPU path's threads (1: the single-threaded build);
// ?calibrate=force makes auto time both backends even on a fallback (software) adapter.
const query = new URLSearchParams(location.search);
// The opt-in service worker for threads on a static host (settings, www/isolation.js).
wireIsolation($('threads-sw'), $('threads-option'));
resumeIsolation();

const client = new TrainerClient(onMessage, onCrash, { threads: Number(query.get('threads')) || 0, calibrate: query.get('calibrate') ?? '' });
const lab = new Lab({
    send: (msg) => client.send(msg),
    create: (config, tag) => create(text, tag, config),
    chart,
    baseConfig: () => readForm(form),
    dataName: () => dataName,
    resumeSweepRun: (id, index) => checkpoints.resumeSweepRun(id, index),
});
lab.load();

// ---- the running run, saved in this browser and resumed after a reload ----

const checkpoints = new RunCheckpoints({
    els: {
        banner: $('resume-banner'), message: $('resume-message'), resume: $('resume-run'), discard: $('resume-discard'),
        error: $('resume-error'), saved: $('save-status'), unsaved: $('save-error'), unsavedDetail: $('save-error-detail'),
    },
    send: (msg) => client.send(msg),
    gen: () => client.gen,
    run: () => ({ text, dataName, config: applied, sweep: lab.sweep.tag(), uniform }),
    chart,
    restored: ({ initialLoss, evals, step, steps, elapsedMs }) => {
        setText({
            'init-loss': loss(initialLoss), 'stat-step': `${count(step)} / ${count(steps)}`,
            'stat-dev': loss(evals.at(-1)?.dev), 'stat-elapsed': duration(elapsedMs ?? 0),
        });
    },
});

// ---- diagnostics, the learning-rate finder, E02 and the time estimate ----

const diagnostics = new DiagnosticsPanel($('diagnostics'));
const estimate = new RunEstimate($('run-eta'), () => readForm(form), (config) => {
    if (text) client.send({ type: 'rate-probe', tag: 'estimate', text, config });
});
const lrFinder = new LrFinder({
    els: { run: $('lr-find'), use: $('lr-use'), status: $('lr-status'), chart: $('lr-chart') },
    send: (msg) => client.send(msg),
    setLr: (lr) => {
        form.elements.lr.value = String(lr);
        form.dispatchEvent(new Event('change'));
    },
});
const e02 = new E02View({
    els: {
        form: $('e02-form'), steps: $('e02-steps'), batch: $('e02-batch'), start: $('e02-start'), stop: $('e02-stop'),
        estimate: $('e02-estimate'), status: $('e02-status'), chart: $('e02-chart'), rows: $('e02-rows'), time: $('e02-time'),
    },
    send: (msg) => client.send(msg),
    text: () => text,
    base: () => readForm(form),
});
const diagnosticsHandlers = {
    constants: (msg) => {
        diagnostics.setConstants(msg.diagnostics);
        // The settings' ranges and the init schemes come from Rust (src/web/constants.rs).
        applyLimits(form, msg.shared.limits);
        setConstants(msg.shared);
    },
    config: () => diagnostics.reset(),
    diagnostics: ({ report }) => diagnostics.update(report),
    // A restarted worker starts with diagnostics off.
    ready: () => client.send({ type: 'diagnostics', on: $('diagnostics-on').checked }),
};
$('diagnostics-on').addEventListener('change', (event) => client.send({ type: 'diagnostics', on: event.target.checked }));
form.addEventListener('change', () => estimate.update());

/** Builds a new trainer from `bytes` and the settings; `tag` says where errors go. */
function create(bytes, tag, config = readForm(form)) {
    client.send({ type: 'create', text: bytes, config, tag });
}

function start() {
    const fresh = state === 'done' || (state === 'idle' && !sameConfig(readForm(form), applied ?? {}));
    if (state === 'idle' || state === 'done') checkpoints.clear(); // a new run: the saved one goes
    if (fresh) create(text, 'settings');
    client.send({ type: 'start' });
}

async function loadBundled() {
    try {
        const response = await fetch('data/names.txt');
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        text = await response.arrayBuffer();
        create(text, 'settings');
    } catch (err) {
        showError('data-error', `could not load data/names.txt (${err.message}); serve the page with scripts/serve.sh, which puts it there, or choose a word list`);
    }
}

async function tryData(file) {
    pendingData = { text: await file.arrayBuffer(), name: file.name };
    create(pendingData.text, 'data');
}

// ---- what the worker says --------------------------------------------------

const handlers = {
    ready({ presets: all }) {
        presets = all;
        const refused = fillFromUrl(form, presets);
        $('link-note').textContent = refused
            .map(({ key, value, kept }) => `This link's ${key}=${value} is not a value this page takes, so it uses ${kept}.`)
            .join(' ');
        $('link-note').hidden = refused.length === 0;
        saveToUrl(form, presets);
        if (text) create(text, 'settings', applied ?? readForm(form));
        else loadBundled();
    },
    backend({ backend, threads, summary, measured, measurable, details }) {
        const cpu = backend !== 'webgpu';
        $('backend-name').textContent = cpu ? `CPU${threads > 1 ? ` × ${threads} threads` : ''}` : 'WebGPU';
        $('backend-badge').dataset.backend = backend;
        // Plain words in the badge; adapter facts and driver errors behind the disclosure.
        $('backend-reason').textContent = cpu && threads > 1 && isolatedByServiceWorker()
            ? `${summary} ${threads} threads, through a service worker that makes this page cross-origin isolated.`
            : summary;
        $('backend-rates').textContent = measured ?? '';
        $('backend-rates').hidden = !measured;
        $('remeasure').hidden = !measurable;
        $('remeasure').disabled = false;
        $('backend-detail-lines').replaceChildren(...details.map((line) => {
            const li = document.createElement('li');
            li.textContent = line;
            return li;
        }));
        $('backend-details').hidden = details.length === 0;
    },
    measuring() {
        $('backend-reason').textContent = 'timing the CPU and the GPU on this model…';
    },
    dataset({ stats: s }) {
        uniform = s.uniformLoss;
        setText({
            'stat-words': count(s.words),
            'stat-vocab-size': `${s.vocabSize} (with '.')`,
            'stat-vocab': s.vocab,
            'stat-split-words': `${count(s.trainWords)} / ${count(s.devWords)} / ${count(s.testWords)}`,
            'stat-split-examples': `${count(s.trainExamples)} / ${count(s.devExamples)} / ${count(s.testExamples)}`,
            'uniform-loss': loss(uniform),
        });
    },
    config({ config, about }) {
        applied = config;
        if (about === 'data' && pendingData) {
            ({ text, name: dataName } = pendingData);
            pendingData = null;
        }
        if (about === 'import' || about === 'resume') {
            fillForm(form, config);
            saveToUrl(form, presets);
        }
        $('data-name').textContent = dataName;
        ['data-error', 'settings-error', 'run-error', 'weights-error'].forEach((id) => showError(id));
        $('diverged').hidden = true;
        $('settings-note').hidden = true;
        $('init-table').hidden = true;
        $('final-table').hidden = true;
        chart.reset({ steps: config.steps, uniform });
        setText({ 'stat-dev': '–', 'stat-loss': '–', 'stat-sps': '–', 'stat-eps': '–', 'stat-elapsed': '–', 'stat-lr': '–' });
    },
    created({ step, steps, initialLoss }) {
        chart.addDev(step, initialLoss);
        setText({ 'init-loss': loss(initialLoss), 'stat-step': `${count(step)} / ${count(steps)}` });
    },
    inits({ losses: l }) {
        setText({
            'init-naive': loss(l.naive), 'init-small-output': loss(l.smallOutput),
            'init-kaiming': loss(l.kaiming), 'init-uniform': loss(l.uniform),
        });
        $('init-table').hidden = false;
    },
    progress(p) {
        chart.addLosses(p.from, p.losses);
        const recent = p.losses.length ? p.losses.reduce((a, b) => a + b, 0) / p.losses.length : NaN;
        setText({
            'stat-step': `${count(p.step)} / ${count(p.steps)}`,
            'stat-loss': loss(recent),
            'stat-sps': rate(p.stepsPerSec),
            'stat-eps': rate(p.examplesPerSec),
            'stat-elapsed': duration(p.elapsedMs),
            'stat-lr': p.lr.toPrecision(3),
        });
    },
    eval(e) {
        chart.addDev(e.step, e.dev);
        $('stat-dev').textContent = loss(e.dev);
        if (e.final) {
            setText({ 'final-train': loss(e.train), 'final-dev': loss(e.dev), 'final-test': loss(e.test) });
            $('final-table').hidden = false;
        }
    },
    samples({ names }) {
        $('samples').replaceChildren(...names.map((name) => {
            const li = document.createElement('li');
            li.textContent = name;
            return li;
        }));
    },
    embedding({ points }) {
        $('embedding-method').textContent = scatter.update(points);
    },
    state({ state: next }) {
        state = next;
        const labels = { idle: 'Start', running: 'Pause', paused: 'Resume', done: 'Train again' };
        $('start').textContent = labels[state];
        $('start').disabled = false;
        $('stop').disabled = !(state === 'running' || state === 'paused');
        $('reset').disabled = false;
        $('download').disabled = false;
        document.body.dataset.state = state;
    },
    weights({ bytes, step, tag }) {
        if (tag || !bytes) return; // the lab's or the checkpoints'; none: the trainer was replaced first
        const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
        const a = document.createElement('a');
        a.href = url;
        a.download = `makemore-step${step}.safetensors`;
        a.click();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
    diverged({ message, checkpoint, lr }) {
        $('diverged-message').textContent = message;
        $('restore').textContent = `Reset to last good checkpoint (step ${count(checkpoint)})`;
        $('restore-lr').value = String(Number((lr / 10).toPrecision(2)));
        $('diverged').hidden = false;
    },
    rewound({ step, steps, config, from, losses }) {
        applied = config;
        form.elements.lr.value = String(config.lr);
        saveToUrl(form, presets);
        $('diverged').hidden = true;
        showError('run-error');
        chart.reset({ steps, uniform });
        chart.addLosses(from, losses);
        $('stat-step').textContent = `${count(step)} / ${count(steps)}`;
    },
    imported({ step }) {
        $('weights-message').textContent = `Loaded weights saved at step ${count(step)}.`;
    },
    error({ about, message }) {
        const where = { data: 'data-error', settings: 'settings-error', weights: 'weights-error' }[about];
        if (about === 'startup') onCrash(message);
        else if (!['inspect', 'samples', 'sweep', 'lr-find', 'e02', 'estimate', 'resume'].includes(about)) showError(where ?? 'run-error', message);
        if (about === 'data') pendingData = null;
        // Settings the trainer refused: Reset tries again once they are fixed.
        if (about === 'settings') $('reset').disabled = false;
    },
};

function onMessage(msg) {
    handlers[msg.type]?.(msg);
    lab.onMessage(msg);
    checkpoints.onMessage(msg);
    diagnosticsHandlers[msg.type]?.(msg);
    [estimate, lrFinder, e02].forEach((part) => part.onMessage(msg));
}

function onCrash(message) {
    $('crash-message').textContent = `The trainer stopped: ${message}.`;
    $('crash').hidden = false;
    ['start', 'stop', 'reset', 'download'].forEach((id) => { $(id).disabled = true; });
    $('restart').focus();
}

// ---- controls ----------------------------------------------------------------

$('start').addEventListener('click', () => {
    if (state === 'running') client.send({ type: 'pause' });
    else start();
});
$('stop').addEventListener('click', () => client.send({ type: 'stop' }));
$('reset').addEventListener('click', () => {
    checkpoints.clear();
    create(text, 'settings');
});
$('remeasure').addEventListener('click', () => {
    $('remeasure').disabled = true;
    client.send({ type: 'create', text, config: readForm(form), tag: 'settings', remeasure: true });
});
$('restore').addEventListener('click', () => client.send({ type: 'restore', lr: Number($('restore-lr').value) }));
$('restart').addEventListener('click', () => {
    $('crash').hidden = true;
    client.restart();
});

form.addEventListener('change', (event) => {
    $('link-note').hidden = true;
    if (event.target.name === 'preset') {
        fillForm(form, { ...presets[event.target.value], backend: form.elements.backend.value, gpu_kernels: form.elements.gpu_kernels.value });
    }
    saveToUrl(form, presets);
    $('settings-note').hidden = !(applied && state !== 'idle' && !sameConfig(readForm(form), applied));
});

$('log-scale').addEventListener('change', (event) => chart.setLog(event.target.checked));

$('temperature').addEventListener('input', (event) => {
    const t = Number(event.target.value);
    $('temperature-value').textContent = t.toFixed(1);
    client.send({ type: 'sample', temperature: t });
});

$('download').addEventListener('click', () => client.send({ type: 'export' }));

$('weights-file').addEventListener('change', async (event) => {
    const [file] = event.target.files;
    event.target.value = '';
    if (!file) return;
    showError('weights-error');
    $('weights-message').textContent = `Loading ${file.name}…`;
    client.send({ type: 'import', bytes: await file.arrayBuffer() });
});

$('data-file').addEventListener('change', (event) => {
    const [file] = event.target.files;
    event.target.value = '';
    if (file) tryData(file);
});

const zone = $('drop-zone');
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => event.preventDefault());
zone.addEventListener('dragenter', () => zone.classList.add('over'));
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (event) => {
    zone.classList.remove('over');
    const [file] = event.dataTransfer.files;
    if (file) tryData(file);
});
