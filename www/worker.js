// The trainer's thread: owns the wasm Trainer, trains it in chunks of about
// CHUNK_MS and reports to the page with typed messages. Between chunks it
// yields to the event loop, so pause, stop and reset take effect within one chunk.
//
// Every message from the page carries `gen`, the trainer generation it was made
// for: the page counts its create, import and resume requests. Work for the
// trainer (start, pause, stop, sample, export, …) whose `gen` is older than the
// newest such request is dropped, never run: its trainer is replaced or freed.
//
// Page → worker: create {text, config, tag, decisions?, remeasure?, calibrate?} · start · pause · stop
//                sample {temperature?, count?, prefix?, hideExisting?} (each kept until changed)
//                export {tag?} · import {bytes} · inspect {word} · restore {lr}
//                resume {text, config, weights, tag, elapsedMs}: a saved run (run-store.js) picked up
//                bench {text, config, seconds} · ttt {text, config, evalEvery, limit}
//                lose-device (a test hook: destroys the WebGPU device)
//                diagnostics {on} (live probe-batch statistics while training) · lr-find {steps?, lowest?, highest?}
//                e02 {text, config, steps, schemes} · e02-stop · rate-probe {text, config, tag}
// Worker → page: ready {presets, threads, threadsReason} · dataset {stats}
//                backend {backend, reason, threads, summary, measured, details, measurable}
//                measuring {}: auto is timing both backends · decision {key, rates}: the rates
//                it measured, for the page's cache (client.js)
//                config {config, about: tag} · created {initialLoss} · inits {losses}
//                progress {losses, step, steps, lr, stepsPerSec, examplesPerSec, elapsedMs}
//                eval {step, dev} | eval {step, train, dev, test, final: true}
//                samples {step, names, count, attempts} · embedding {points} · state {state}
//                weights {bytes, step, tag} (bytes null: the trainer was replaced first) · imported {step} · inspection {report}
//                resumed {step, steps, tag} (after its created, samples and state)
//                error {about, message, fatal}
//                diverged {message, step, checkpoint, lr}
//                rewound {step, steps, config, from, losses}: back at a checkpoint (after
//                restore, or on the CPU after the WebGPU device was lost)
//                bench {stepsPerSec, steps, seconds, backend, reason, threads}
//                ttt {trace: [{step, seconds, dev}], targets: [{target, at: {step, seconds, dev} | null}],
//                     backend, reason, threads}: the dev trace and Rust's verdict on it (benchReached)
//                constants {diagnostics, shared} (after ready: the diagnostics' constants and the init
//                schemes; each setting's kind, choices, attributes and limits, the bench configs
//                and the E02 tries, src/web/constants.rs)
//                diagnostics {report} · lr-find {result, lr} (result null: the sweep failed; see error)
//                e02-curve {init, from, losses, step, steps, stepsPerSec}
//                e02-row {init, initialLoss, dev, saturatedInit, saturated, steps, seconds, error?}
//                e02-done {seconds, stopped, backend} · rate-probe {stepsPerSec, backend, tag, …}
//
// The CPU path is the threaded wasm build (pkg-threads/, a rayon pool of workers)
// where the page is cross-origin isolated, else the single-threaded one (pkg/).
// `?threads=N` on this script's URL caps the pool (1: the single-threaded build).
//
// `auto` (src/backend/auto.rs has the rule): no WebGPU adapter, or a fallback
// (software) one, means the CPU; on a hardware adapter both backends train the
// actual config on scratch trainers for a moment (bench, below) and the faster
// one trains. A `create` brings the page's cached rates (`decisions`, keyed by
// adapter and model shape; workers have no localStorage), so a known pair does
// not race again unless `remeasure`; `calibrate: 'force'` races on a fallback
// adapter too (tests, and whoever wants to see the numbers).

import { adapterFacts, adapterLines } from './adapter.js';
import { REPLACING } from './client.js';
import { loadWasm } from './wasm.js';

const CHUNK_MS = 80;
const SAMPLE_EVERY_MS = 1500;
const SAMPLE_COUNT = 20;
/** How often live diagnostics are recomputed while training. */
const DIAGNOSTICS_EVERY_MS = 700;

const post = (msg, transfer) => self.postMessage(msg, transfer ?? []);

/** The loaded build: {pkg, threads, reason}; set before `ready`. */
let wasm = null;

// Calls into a Trainer never overlap: each waits for the one before.
let tail = Promise.resolve();
function exclusive(fn) {
    const result = tail.then(fn);
    tail = result.catch(() => {});
    return result;
}

const yieldToEvents = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Steps for the next chunk: about CHUNK_MS at `rate` steps/s, at most twice the last. */
const nextChunk = (chunk, rate) => Math.max(1, Math.min(chunk * 2, Math.round(rate * CHUNK_MS / 1000)));

let trainer = null;
let text = null;
/** auto's measured rates by decisionKey, as the page last sent them plus those measured since. */
let decisions = {};
let sampling = { count: SAMPLE_COUNT, temperature: 1, prefix: '', hideExisting: false };
let state = 'idle'; // idle | running | paused | done
let elapsedMs = 0;
let runs = 0; // the current training loop's number; an older loop stops
/** The newest trainer generation the page asked for (its create, import and resume requests). */
let requested = 0;
/** Whether `msg` was made for the trainer the page asked for last (a test hook's has no `gen`). */
const current = (msg) => msg.gen === undefined || msg.gen >= requested;

/** Runs `fn` exclusively if `msg` is still current when its turn comes; else drops it. */
const forCurrent = (msg, fn) => exclusive(() => (current(msg) ? fn() : undefined));
/** Runs `fn` exclusively if `t` is still the trainer when its turn comes (it is freed once replaced). */
const forTrainer = (t, fn) => exclusive(() => (trainer === t ? fn() : undefined));

function setState(next) {
    state = next;
    post({ type: 'state', state });
}

function report(about, err) {
    const message = err instanceof Error ? err.message : String(err);
    // A Rust panic aborts with a RuntimeError; the wasm instance is unusable after it.
    const fatal = err instanceof WebAssembly.RuntimeError;
    post({ type: 'error', about, message, fatal });
    if (fatal) self.close();
}

/** Samples with the page's options; a prefix the model cannot spell is reported and dropped. */
async function sendSamples(t) {
    let drawn;
    try {
        drawn = await t.sampleWith(sampling);
    } catch (err) {
        if (!sampling.prefix) throw err;
        report('samples', err);
        sampling = { ...sampling, prefix: '' };
        drawn = await t.sampleWith(sampling);
    }
    post({ type: 'samples', step: t.step(), names: drawn.names, count: sampling.count, attempts: drawn.attempts });
}

async function sendEmbedding(t) {
    post({ type: 'embedding', points: await t.embedding() });
}

/**
 * Scratch trainers train this many steps at most: the timing, never the
 * schedule's end, stops them (their probes last a second or two, far below a
 * million steps at any speed a page reaches). Not more: the library counts a
 * run's loss history, 12 bytes a step, in the memory a run may need, and
 * refuses runs that would not fit.
 */
const SCRATCH_STEPS = 1e6;

/** The cache key of a measurement: the adapter, the model's shape and the CPU's threads. */
function decisionKey(facts, c, vocabSize) {
    const adapter = [facts.vendor, facts.architecture, facts.description, facts.fallback ? 'fallback' : 'hardware'].join('/');
    const model = `T${c.block_size} E${c.n_embd} H${c.n_hidden}${c.direct ? ' direct' : ''} V${vocabSize} B${c.batch_size} ${c.optimizer} ${c.gpu_kernels}`;
    return `${adapter} | ${model} | ${wasm.threads} threads`;
}

/** Steps/s of each backend on `config`, on scratch trainers freed afterwards: {cpu, gpu}. */
async function race(bytes, config, cpu) {
    const { seconds, warmupSteps } = wasm.pkg.calibrationBudget();
    const warmup = { ms: 0, steps: warmupSteps };
    const rates = { cpu: (await bench(cpu, seconds / 2, warmup)).stepsPerSec };
    const gpu = await wasm.pkg.Trainer.createOn(new Uint8Array(bytes), config, 'webgpu');
    try {
        rates.gpu = (await bench(gpu, seconds / 2, warmup)).stepsPerSec;
    } finally {
        gpu.free();
    }
    return rates;
}

/**
 * Where a `create` trains ("cpu" or "webgpu") and what the badge says about it:
 * {device, badge: {summary, measured, details, measurable}}; `measured` is the rates
 * line, "(measured earlier)" when it came from the page's cache.
 */
async function chooseDevice(bytes, config, { remeasure = false, calibrate = '' }) {
    const choice = config?.backend ?? 'auto';
    // The settings' CPU needs no adapter: asking for one could start a GPU process for nothing.
    const facts = choice === 'cpu' ? null : await adapterFacts();
    const details = adapterLines(facts);
    const label = facts?.available ? facts.label : null;
    const decide = (found, { cached = false, ...more } = {}) => {
        const d = wasm.pkg.chooseBackend(found, wasm.threads);
        const measured = d.measured && `${d.measured}${cached ? ' (measured earlier)' : ''}`;
        return {
            device: d.backend === 'gpu' ? 'webgpu' : 'cpu',
            badge: { summary: d.summary, measured, measurable: false, ...more, details: [...details, ...(more.details ?? [])] },
        };
    };
    if (choice !== 'auto') return decide({ kind: 'chosen', backend: choice === 'webgpu' ? 'gpu' : 'cpu', adapter: choice === 'webgpu' ? label : null });
    if (!facts.available) return decide({ kind: 'noGpu' });
    if (facts.fallback && calibrate !== 'force') return decide({ kind: 'software', adapter: label });
    const scratch = { ...config, eval_every: 0, steps: SCRATCH_STEPS };
    // The key needs the settings filled in and the vocabulary, not a trainer: a
    // cached measurement builds no scratch trainer at all.
    const shape = wasm.pkg.resolveSettings(new Uint8Array(bytes), scratch);
    const key = decisionKey(facts, shape.config, shape.vocabSize);
    const known = remeasure ? null : decisions[key];
    if (known) return decide({ kind: 'measured', adapter: label, rates: known.rates }, { cached: true, measurable: true });
    post({ type: 'measuring' });
    const cpu = await wasm.pkg.Trainer.createOn(new Uint8Array(bytes), scratch, 'cpu');
    let rates;
    try {
        rates = await race(bytes, scratch, cpu);
    } catch (err) {
        return decide({ kind: 'broken', adapter: label }, { details: [`WebGPU: ${err?.message ?? err}`] });
    } finally {
        cpu.free();
    }
    decisions[key] = { rates };
    post({ type: 'decision', key, rates });
    return decide({ kind: 'measured', adapter: label, rates }, { measurable: true });
}

/**
 * The badge's facts for the page: the device in use, why, and the details
 * behind it. Without `badge`, the GPU was lost mid-run: the trainer's reason
 * (the driver's words and the checkpoint's step) goes behind the disclosure.
 */
function backendMessage(t, badge) {
    const lost = { summary: 'WebGPU stopped working, so training went on on your CPU from the last checkpoint.', details: [t.backendReason()] };
    const about = badge ?? lost;
    const device = t.backend() === 'webgpu' ? `GPU kernels: ${t.kernelSet()}` : `CPU threads: ${wasm.reason}`;
    return { type: 'backend', backend: t.backend(), reason: t.backendReason(), threads: wasm.threads, ...about, details: [...about.details, device] };
}

let diagnosticsOn = false;
let lastDiagnostics = 0;

/** The probe-batch statistics of `t` and, so the scatter animates with them, its embedding. */
async function sendDiagnostics(t) {
    lastDiagnostics = performance.now();
    post({ type: 'diagnostics', report: await t.diagnostics() });
    await sendEmbedding(t);
}

/** While training: the statistics every DIAGNOSTICS_EVERY_MS, when they are on. */
async function maybeDiagnostics(t) {
    if (diagnosticsOn && performance.now() - lastDiagnostics > DIAGNOSTICS_EVERY_MS) await forTrainer(t, () => sendDiagnostics(t));
}

/// Replaces the trainer with `next` and tells the page everything about it.
async function adopt(next, tag, badge) {
    const old = trainer;
    trainer = next;
    old?.free();
    elapsedMs = 0;
    const config = next.config();
    post(backendMessage(next, badge));
    post({ type: 'dataset', stats: next.dataset() });
    post({ type: 'config', config, about: tag });
    const initialLoss = await next.evaluateSplit('dev');
    post({ type: 'created', step: next.step(), steps: next.steps(), initialLoss });
    if (config.preset === 'e02') post({ type: 'inits', losses: await next.initLosses() });
    await sendSamples(next);
    await sendEmbedding(next);
    if (diagnosticsOn) await sendDiagnostics(next);
    setState(next.done() ? 'done' : 'idle');
}

/** A trainer of `config` on `bytes`, on the device `chooseDevice` picks: {next, badge}. */
async function build(bytes, config, options = {}) {
    const { device, badge } = await chooseDevice(bytes, config, options);
    return { next: await wasm.pkg.Trainer.createOn(new Uint8Array(bytes), config, device), badge };
}

async function create(bytes, config, tag, options) {
    const { next, badge } = await build(bytes, config, options);
    text = bytes;
    await adopt(next, tag, badge);
}

/** A trainer of `config` on `bytes` holding `weights` (a safetensors file): {next, badge}. */
async function buildWith(bytes, config, weights) {
    const built = await build(bytes, config);
    try {
        built.next.importWeights(new Uint8Array(weights));
    } catch (err) {
        built.next.free();
        throw err;
    }
    return built;
}

async function importWeights(bytes) {
    const fileConfig = wasm.pkg.weightsConfig(new Uint8Array(bytes));
    const config = { ...fileConfig, backend: trainer?.config().backend ?? 'auto', gpu_kernels: trainer?.config().gpu_kernels ?? 'auto' };
    const { next, badge } = await buildWith(text, config, bytes);
    await adopt(next, 'import', badge);
    post({ type: 'imported', step: next.step() });
}

/**
 * A run the page saved picks up where it stopped: the saved `config` (its
 * backend included) on the word list `bytes`, with the parameters, optimizer
 * state and step of `weights`. Batches depend on (seed, step) only, so training
 * on from there is the run left alone.
 */
async function resume({ text: bytes, config, weights, tag, elapsedMs: elapsed }) {
    const { next, badge } = await buildWith(bytes, config, weights);
    text = bytes;
    await adopt(next, tag, badge);
    elapsedMs = elapsed ?? 0;
    post({ type: 'resumed', step: next.step(), steps: next.steps(), tag });
}

/// Tells the page the trainer went back to a checkpoint, with the losses it kept.
function rewound(t) {
    const losses = t.lossesSince(0);
    const step = t.step();
    post({ type: 'rewound', step, steps: t.steps(), config: t.config(), from: step - losses.length, losses }, [losses.buffer]);
}

async function finish(t) {
    if (trainer !== t || state === 'done') return; // replaced, or already finished by a stop
    const losses = await t.evaluate();
    post({ type: 'eval', step: t.step(), ...losses, final: true });
    await sendSamples(t);
    await sendEmbedding(t);
    if (diagnosticsOn) await sendDiagnostics(t);
    setState('done');
}

/**
 * One chunk of `t`'s training and the facts the loop needs after it, read in
 * the same exclusive turn: a checkpoint's export awaits the GPU between two
 * chunks, and a Trainer call never overlaps another.
 */
async function trainChunk(t, chunk) {
    const from = t.step();
    try {
        await t.train(chunk);
    } catch (error) {
        return { error, diverged: t.diverged(), step: t.step(), checkpoint: t.checkpointStep(), lr: t.config().lr };
    }
    return { from, step: t.step(), steps: t.steps(), lr: t.lr(), losses: t.lossesSince(from), backend: t.backend(), done: t.done() };
}

/** Trains the trainer in chunks until it is done, paused, stopped or replaced; called within an exclusive turn. */
function run() {
    const t = trainer;
    const id = ++runs;
    const { eval_every: evalEvery, batch_size: batch } = t.config();
    const backend = t.backend();
    const done = t.done();
    setState('running');
    return train(t, id, { evalEvery, batch, backend, done });
}

async function train(t, id, { evalEvery, batch, backend, done }) {
    let chunk = 1;
    let stepsPerSec = 0;
    let lastSamples = performance.now();
    // A stop or a newer loop ends this one; a pause only stops it asking for more chunks.
    const owned = () => runs === id && trainer === t;
    const live = () => state === 'running' && owned();
    while (live() && !done) {
        const started = performance.now();
        const r = await forTrainer(t, () => trainChunk(t, chunk));
        if (!r) return; // replaced (and freed) before the chunk's turn came
        if (r.error) {
            if (r.diverged) {
                post({ type: 'diverged', message: r.error.message, step: r.step, checkpoint: r.checkpoint, lr: r.lr });
            } else {
                report('training', r.error);
            }
            setState('paused');
            return;
        }
        done = r.done;
        if (r.backend !== backend) { // the GPU was lost: on the CPU from a checkpoint
            backend = r.backend;
            await forTrainer(t, () => {
                post(backendMessage(t));
                rewound(t);
                done = t.done();
            });
            continue;
        }
        const ms = performance.now() - started;
        elapsedMs += ms;
        const { from, step, losses } = r;
        const rate = (step - from) / Math.max(ms, 1e-3) * 1000;
        stepsPerSec = stepsPerSec ? 0.8 * stepsPerSec + 0.2 * rate : rate;
        chunk = nextChunk(chunk, rate);
        post({
            type: 'progress', from, losses, step, steps: r.steps, lr: r.lr,
            stepsPerSec, examplesPerSec: stepsPerSec * batch, elapsedMs,
        }, [losses.buffer]);
        if (!owned()) break; // stopped while the chunk ran: its final evaluation is queued
        if (evalEvery > 0 && Math.floor(step / evalEvery) > Math.floor(from / evalEvery) && !done) {
            await forTrainer(t, async () => {
                if (!owned()) return;
                const dev = await t.evaluateSplit('dev');
                // A stop during the evaluation queued the final one: no stale eval after it.
                if (owned()) post({ type: 'eval', step, dev });
                await sendEmbedding(t);
            });
        }
        if (performance.now() - lastSamples > SAMPLE_EVERY_MS) {
            await forTrainer(t, () => sendSamples(t));
            lastSamples = performance.now();
        }
        await maybeDiagnostics(t);
        await yieldToEvents();
    }
    if (live() && done) await forTrainer(t, () => finish(t));
}

/**
 * A trainer for a side job (a timing, the E02 tries) on `config`. Under `auto` it
 * trains where the page's trainer does, the device auto chose by measuring:
 * the wasm API's own `auto` would open WebGPU whenever it works, and the side
 * job would then time or train on another device than the one the page shows.
 */
function scratchTrainer(bytes, config) {
    const auto = (config?.backend ?? 'auto') === 'auto';
    return auto && trainer
        ? wasm.pkg.Trainer.createOn(new Uint8Array(bytes), config, trainer.backend())
        : wasm.pkg.Trainer.create(new Uint8Array(bytes), config);
}

/**
 * Runs `measure(t)` on a scratch trainer of `config` on `text` (no periodic
 * evaluations), posts its result as a `type` message with the backend it ran
 * on, and frees the trainer: the bench page's measurements.
 */
async function onScratch(type, bytes, config, measure) {
    const t = await scratchTrainer(bytes, { ...config, eval_every: 0 });
    try {
        const result = await measure(t);
        post({ type, ...result, backend: t.backend(), reason: t.backendReason(), threads: wasm.threads });
    } finally {
        t.free();
    }
}

/**
 * Steps/s over about `seconds`, in chunks sized as `run` sizes them, after a
 * warm-up of `warmup.steps` steps and then `warmup.ms` milliseconds (the bench
 * page: one second; auto's calibration: a few steps).
 */
async function bench(t, seconds, warmup = { ms: 1000, steps: 0 }) {
    let chunk = 1;
    let steps = 0;
    if (warmup.steps) await t.train(warmup.steps);
    let started = performance.now();
    for (let warm = warmup.ms > 0; ; ) {
        const t0 = performance.now();
        await t.train(chunk);
        steps += chunk;
        chunk = nextChunk(chunk, chunk / Math.max(performance.now() - t0, 1e-3) * 1000);
        if (warm && performance.now() - started > warmup.ms) {
            [warm, steps, started] = [false, 0, performance.now()];
        } else if (!warm && performance.now() - started > seconds * 1000) break;
    }
    const elapsed = (performance.now() - started) / 1000;
    return { stepsPerSec: steps / elapsed, steps, seconds: elapsed };
}

/**
 * Trains (with the config's own schedule and total steps), evaluating the dev
 * loss every `evalEvery` steps, and returns the trace of those evaluations with
 * the wall seconds (training and evaluations) of each, giving up after `limit`
 * seconds: the bench page's time-to-target. Rust judges the trace (the wasm
 * API's `benchReached`, the native bench's rule), which also says when every
 * target has fallen and the run may stop.
 */
async function timeToTarget(t, evalEvery, limit) {
    const trace = [];
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let judged = wasm.pkg.benchReached(trace);
    while (!judged.done && !t.done() && seconds() < limit) {
        await t.train(Math.min(evalEvery, t.steps() - t.step()));
        const dev = await t.evaluateSplit('dev');
        trace.push({ step: t.step(), seconds: seconds(), dev });
        judged = wasm.pkg.benchReached(trace);
    }
    return { trace, targets: judged.targets };
}

// ---- E02: the notebook's init tries, one scratch trainer per scheme ----

let e02Runs = 0; // the current E02 comparison's number; an older one stops

/** The saturated share of `t`'s tanh outputs on the probe batch. */
const saturatedOf = async (t) => (await exclusive(() => t.diagnostics())).saturated;

/**
 * Trains one scratch trainer per init scheme in `schemes` for `steps` steps, on
 * the same config (seed, split, batches), posting each curve as it grows and a
 * row (dev loss and tanh saturation before and after) when each ends.
 */
async function e02({ text: bytes, config, steps, schemes }) {
    const id = ++e02Runs;
    const started = performance.now();
    let backend = '';
    for (const init of schemes) {
        if (id !== e02Runs) break;
        const t = await exclusive(() => scratchTrainer(bytes, { ...config, init, steps, eval_every: 0 }));
        const t0 = performance.now();
        const row = { init, steps: 0 };
        try {
            backend = t.backend();
            row.initialLoss = await exclusive(() => t.evaluateSplit('dev'));
            row.saturatedInit = await saturatedOf(t);
            let chunk = 1;
            let stepsPerSec = 0;
            while (!t.done() && id === e02Runs) {
                const from = t.step();
                const s = performance.now();
                await exclusive(() => t.train(chunk));
                const rate = (t.step() - from) / Math.max(performance.now() - s, 1e-3) * 1000;
                stepsPerSec = stepsPerSec ? 0.8 * stepsPerSec + 0.2 * rate : rate;
                chunk = nextChunk(chunk, rate);
                const losses = t.lossesSince(from);
                post({ type: 'e02-curve', init, from, losses, step: t.step(), steps, stepsPerSec }, [losses.buffer]);
                await yieldToEvents();
            }
            row.dev = await exclusive(() => t.evaluateSplit('dev'));
            row.saturated = await saturatedOf(t);
        } catch (err) {
            row.error = err instanceof Error ? err.message : String(err);
        } finally {
            row.steps = t.step();
            row.seconds = (performance.now() - t0) / 1000;
            t.free();
        }
        post({ type: 'e02-row', ...row });
    }
    post({ type: 'e02-done', seconds: (performance.now() - started) / 1000, stopped: id !== e02Runs, backend });
}

const handlers = {
    create: ({ text: bytes, config, tag, decisions: cached, remeasure, calibrate }) => {
        if (cached) decisions = { ...cached, ...decisions };
        return exclusive(() => create(bytes, config, tag, { remeasure, calibrate }).catch((err) => report(tag, err)));
    },
    // After any create before it; the loop itself is not awaited, or it would block the queue.
    start: (msg) => forCurrent(msg, () => {
        if (trainer && (state === 'idle' || state === 'paused')) run();
    }),
    pause: (msg) => {
        if (current(msg) && state === 'running') setState('paused');
    },
    stop: (msg) => {
        if (!current(msg) || !trainer || state === 'done') return;
        runs += 1; // the loop ends after its chunk, with no evaluation of its own
        setState('paused');
        const t = trainer;
        forTrainer(t, () => finish(t)).catch((err) => report('training', err));
    },
    sample: (msg) => {
        for (const key of ['temperature', 'count', 'prefix', 'hideExisting']) {
            if (msg[key] !== undefined) sampling[key] = msg[key];
        }
        forCurrent(msg, () => trainer && sendSamples(trainer)).catch((err) => report('samples', err));
    },
    // A stale export still answers, with no bytes: whoever asked is not left waiting.
    export: (msg) => exclusive(async () => {
        if (!trainer || !current(msg)) {
            post({ type: 'weights', bytes: null, step: null, tag: msg.tag });
            return;
        }
        const bytes = await trainer.exportWeights();
        post({ type: 'weights', bytes: bytes.buffer, step: trainer.step(), tag: msg.tag }, [bytes.buffer]);
    }).catch((err) => report('weights', err)),
    inspect: (msg) => forCurrent(msg, async () => {
        if (trainer) post({ type: 'inspection', report: await trainer.inspect(msg.word) });
    }).catch((err) => report('inspect', err)),
    import: ({ bytes }) => exclusive(() => importWeights(bytes).catch((err) => report('weights', err))),
    resume: (msg) => exclusive(() => resume(msg).catch((err) => report(msg.tag, err))),
    restore: (msg) => forCurrent(msg, () => {
        trainer.setLr(msg.lr);
        trainer.restoreCheckpoint();
        rewound(trainer);
    }).catch((err) => report('restore', err)),
    diagnostics: (msg) => {
        diagnosticsOn = Boolean(msg.on);
        if (diagnosticsOn) forCurrent(msg, () => trainer && sendDiagnostics(trainer)).catch((err) => report('diagnostics', err));
    },
    // On whichever trainer is there when its turn comes: it trains a copy, never the model.
    'lr-find': ({ type, gen, ...options }) => exclusive(async () => {
        try {
            post({ type: 'lr-find', result: await trainer.lrFind(options), lr: trainer.config().lr });
        } catch (err) {
            post({ type: 'lr-find', result: null });
            throw err;
        }
    }).catch((err) => report('lr-find', err)),
    e02: (msg) => e02(msg).catch((err) => report('e02', err)),
    'e02-stop': () => { e02Runs += 1; },
    // A second's timing of `config` for a time estimate; `tag` says whose (the run's, E02's).
    'rate-probe': ({ text: bytes, config, tag }) => exclusive(() =>
        onScratch('rate-probe', bytes, { ...config, steps: SCRATCH_STEPS }, async (t) => ({ ...await bench(t, 1), tag }))
            .catch((err) => report(tag, err))),
    'lose-device': (msg) => forCurrent(msg, () => trainer?.loseDeviceForTest()),
    bench: ({ text: bytes, config, seconds }) => exclusive(() =>
        onScratch('bench', bytes, config, (t) => bench(t, seconds)).catch((err) => report('bench', err))),
    ttt: ({ text: bytes, config, evalEvery, limit }) => exclusive(() =>
        onScratch('ttt', bytes, config, (t) => timeToTarget(t, evalEvery, limit)).catch((err) => report('bench', err))),
};

self.onmessage = ({ data }) => {
    if (REPLACING.has(data.type) && data.gen !== undefined) requested = Math.max(requested, data.gen);
    const handle = handlers[data.type];
    if (handle) handle(data);
    else report('protocol', new Error(`unknown message type ${JSON.stringify(data.type)}`));
};

loadWasm(Number(new URL(self.location.href).searchParams.get('threads') ?? 0))
    .then((loaded) => {
        wasm = loaded;
        post({ type: 'ready', presets: wasm.pkg.presetConfigs(), threads: wasm.threads, threadsReason: wasm.reason });
        post({ type: 'constants', diagnostics: wasm.pkg.diagnosticsConstants(), shared: wasm.pkg.constants() });
    })
    .catch((err) => report('startup', err));
