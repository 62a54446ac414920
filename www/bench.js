// The bench page: measures this browser's training paths with the page's own
// worker (worker.js `bench` and `ttt` messages) and shows one table. The native
// `makemore bench` drives it headless (bench/browser.mjs) and reads
// `window.benchResults` once `window.benchDone` is set.

import { TrainerClient } from './client.js';

// Kept in step with the native bench (src/bin/makemore/bench.rs).
const CONFIGS = {
    seed: { block_size: 3, n_embd: 50, n_hidden: 100, batch_size: 16384 },
    lecture: { block_size: 3, n_embd: 10, n_hidden: 200, batch_size: 32 },
    big: { block_size: 8, n_embd: 24, n_hidden: 512, batch_size: 4096 },
};
const BASE = { preset: 'e02', steps: 1e9, lr: 0.01, lr_decay: 'none', optimizer: 'sgd', init: 'small-output' };
const TARGETS = [2.2, 2.13];

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
    const started = new Promise((resolve) => { ready = resolve; });
    const settle = (fn, value) => { const w = waiting; waiting = null; w?.[fn](value); };
    const client = new TrainerClient((msg) => {
        if (msg.type === 'ready') ready(msg);
        else if (msg.type === 'error') settle('reject', new Error(msg.message));
        else if (msg.type === waiting?.reply) settle('resolve', msg);
    }, (text) => settle('reject', new Error(`the worker crashed: ${text}`)), { threads: Number(query.get('threads')) || 0, simd: query.get('simd') ?? '' });
    const ask = (msg, reply) => new Promise((resolve, reject) => {
        waiting = { resolve, reject, reply };
        client.send(msg);
    });
    return { started, ask };
}

async function loadText() {
    const response = await fetch(query.get('data') ?? 'data/names.txt');
    if (!response.ok) throw new Error(`cannot load the word list: HTTP ${response.status}`);
    return response.arrayBuffer();
}

async function speed(ask, text, results) {
    for (const name of list('configs', 'seed,lecture')) {
        for (const path of list('paths', 'cpu,webgpu')) {
            status(`measuring ${name} on ${path}…`);
            const config = { ...BASE, ...CONFIGS[name], backend: path };
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

async function timeToTarget(ask, text, results, presets) {
    for (const path of list('paths', 'cpu')) {
        status(`time to target on ${path}…`);
        const config = { ...presets.e01, backend: path };
        const limit = Number(query.get('limit') ?? 300);
        try {
            const r = await ask({ type: 'ttt', text, config, targets: TARGETS, evalEvery: 500, limit }, 'ttt');
            results.push({ path, ...r });
            const at = TARGETS.map((t) => {
                const hit = r.reached.find((x) => x.target === t);
                return hit ? `dev < ${t}: ${hit.seconds.toFixed(1)} s (step ${hit.step})` : `dev < ${t}: not in ${limit} s`;
            });
            row(['e01', path, config.batch_size, '', '', `${at.join('; ')}; ${r.reason}, ${r.threads} thread(s)`]);
        } catch (err) {
            results.push({ path, error: err.message });
            row(['e01', path, config.batch_size, '', '', err.message]);
        }
    }
}

async function main() {
    const results = [];
    window.benchResults = results;
    try {
        const { started, ask } = startClient();
        const [{ presets, threadsReason }, text] = await Promise.all([started, loadText()]);
        window.benchThreads = threadsReason;
        if (query.get('mode') === 'ttt') await timeToTarget(ask, text, results, presets);
        else await speed(ask, text, results);
        status(`done (${threadsReason})`);
    } catch (err) {
        window.benchError = err.message;
        status(`failed: ${err.message}`);
    }
    window.benchDone = true;
}

main();
