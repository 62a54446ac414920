// The bench page: measures this browser's training paths with the page's own
// worker (worker.js `bench` and `ttt` messages) and shows one table. The native
// `makemore bench` drives it headless (bench/browser.mjs) and reads
// `window.benchResults` once `window.benchDone` is set.

import { TrainerClient } from './client.js';

// The configs (each a whole speed setting), the targets and the evaluation
// interval are the native bench's (src/config.rs), read from the wasm build: the
// worker's `constants` message carries `constants().bench`.

const query = new URLSearchParams(location.search);
const list = (key, fallback) => (query.get(key) ?? fallback).split(',').filter(Boolean);
const seconds = Number(query.get('seconds') ?? 5);
const status = (text) => { document.getElementById('bench-status').textContent = text; };

function row(cells) {
    const tr = document.createElement('tr');
    for (const cell of cells) tr.appendChild(document.createElement('td')).textContent = cell;
    document.querySelector('#bench-table tbody').appendChild(tr);
}

/** One worker; `ask(msg)` resolves to the worker's answer of type `reply`. */
function startClient() {
    let waiting = null;
    let ready;
    let gotConstants;
    const started = new Promise((resolve) => { ready = resolve; });
    const constants = new Promise((resolve) => { gotConstants = resolve; });
    const settle = (fn, value) => { const w = waiting; waiting = null; w?.[fn](value); };
    const client = new TrainerClient((msg) => {
        if (msg.type === 'ready') ready(msg);
        else if (msg.type === 'constants') gotConstants(msg.shared.bench);
        else if (msg.type === 'error') settle('reject', new Error(msg.message));
        else if (msg.type === waiting?.reply) settle('resolve', msg);
    }, (text) => settle('reject', new Error(`the worker crashed: ${text}`)), { threads: Number(query.get('threads')) || 0, simd: query.get('simd') ?? '' });
    const ask = (msg, reply) => new Promise((resolve, reject) => {
        waiting = { resolve, reject, reply };
        client.send(msg);
    });
    return { started, constants, ask };
}

async function loadText() {
    const response = await fetch(query.get('data') ?? 'data/names.txt');
    if (!response.ok) throw new Error(`cannot load the word list: HTTP ${response.status}`);
    return response.arrayBuffer();
}

async function speed(ask, text, results, bench) {
    for (const name of list('configs', 'seed,lecture')) {
        for (const path of list('paths', 'cpu,webgpu')) {
            status(`measuring ${name} on ${path}…`);
            if (!bench.configs[name]) throw new Error(`unknown config ${name}; use ${Object.keys(bench.configs).join(', ')}`);
            const config = { ...bench.configs[name], backend: path };
            try {
                const r = await ask({ type: 'bench', text, config, seconds }, 'bench');
                const threads = r.backend === 'cpu' ? `, ${r.threads} thread${r.threads > 1 ? 's' : ''}` : '';
                results.push({ config: name, path, ...r });
                const eps = r.stepsPerSec * config.batch_size;
                row([name, path, config.batch_size, r.stepsPerSec.toFixed(1), eps.toFixed(0), `${r.reason}${threads}`]);
            } catch (err) {
                results.push({ config: name, path, error: err.message });
                row([name, path, config.batch_size, '–', '–', err.message]);
            }
        }
    }
}

async function timeToTarget(ask, text, results, presets, bench) {
    const { eval_every: evalEvery, ttt_preset: preset } = bench;
    for (const path of list('paths', 'cpu')) {
        status(`time to target on ${path}…`);
        const config = { ...presets[preset], backend: path };
        const limit = Number(query.get('limit') ?? 300);
        try {
            // The worker returns the dev trace and Rust's verdict on it (`benchReached`).
            const r = await ask({ type: 'ttt', text, config, evalEvery, limit }, 'ttt');
            results.push({ path, ...r });
            const at = r.targets.map(({ target, at: hit }) =>
                (hit ? `dev < ${target}: ${hit.seconds.toFixed(1)} s (step ${hit.step})` : `dev < ${target}: not in ${limit} s`));
            row([preset, path, config.batch_size, '', '', `${at.join('; ')}; ${r.reason}, ${r.threads} thread(s)`]);
        } catch (err) {
            results.push({ path, error: err.message });
            row([preset, path, config.batch_size, '', '', err.message]);
        }
    }
}

async function main() {
    const results = [];
    window.benchResults = results;
    try {
        const { started, constants, ask } = startClient();
        const [{ presets, threadsReason }, bench, text] = await Promise.all([started, constants, loadText()]);
        window.benchThreads = threadsReason;
        if (query.get('mode') === 'ttt') await timeToTarget(ask, text, results, presets, bench);
        else await speed(ask, text, results, bench);
        status(`done (${threadsReason})`);
    } catch (err) {
        window.benchError = err.message;
        status(`failed: ${err.message}`);
    }
    window.benchDone = true;
}

main();
