// The soak: trains E01 in the served page for --minutes (20 by default) on each
// --backend (cpu, webgpu or both; WebGPU is SwiftShader here), with a dev
// evaluation every 500 steps and the page saving its checkpoint (resume.js) as it
// does for a learner, and every --every seconds (60) samples, after a full
// garbage collection, the page's JS heap (CDP Runtime.getHeapUsage), the
// worker's wasm memory (wasmMemoryBytes) and its live GPU buffers
// (liveGpuBuffers). Prints a table per backend and fails when one grows past
// its bound (below), when training stops, or when the page reports an error.
// Not part of the test command: scripts/soak.sh runs it. Needs a built www/.

import { parseArgs } from 'node:util';
import { launch, serve, workerMemory } from '../e2e/harness.mjs';

const { values: args } = parseArgs({
    options: {
        minutes: { type: 'string', default: '20' },
        backend: { type: 'string', default: 'both' },
        every: { type: 'string', default: '60' },
    },
});
const minutes = Number(args.minutes);
const every = Number(args.every);
const backends = args.backend === 'both' ? ['cpu', 'webgpu'] : [args.backend];
if (!(minutes > 0) || !(every > 0) || backends.some((b) => b !== 'cpu' && b !== 'webgpu')) {
    console.error('usage: scripts/soak.sh [--minutes N] [--backend cpu|webgpu|both] [--every SECONDS]');
    process.exit(2);
}

/**
 * The bounds, from the first sample (taken after `every` seconds of training,
 * once the page, the trainer and the first checkpoint are warm) to each later one:
 * - GPU buffers: exactly as many. A trainer allocates its buffers once; each
 *   checkpoint's readback and each evaluation's buffers are freed after use.
 * - wasm memory: at most 4 bytes a step trained since the first sample, twice
 *   over, plus WASM_SLACK. The trainer keeps the loss of every step (an f32 in a
 *   Vec, whose capacity doubles as it grows, so up to twice its length), and
 *   wasm memory never shrinks; anything past that and the allocator's slack is
 *   a leak.
 * - page heap: at most HEAP_SLACK. After a GC the page holds the chart (about
 *   1,000 points of each series), the samples and the lab; each checkpoint
 *   passes an E01 weights file (about 240 KB with Adam's moments) through the
 *   page to IndexedDB and drops it. Keeping those files, the likeliest leak,
 *   would add 240 KB at least twice a minute: over 10 MB in 20 minutes.
 */
const WASM_SLACK = 2 << 20;
const HEAP_SLACK = 4 << 20;

// Ten million steps: more than 20 minutes train anywhere this runs, and within the
// page's memory check (which counts the loss history, 12 bytes a step).
const QUERY = (backend) => `?preset=e01&steps=10000000&eval_every=500&backend=${backend}`;
const mb = (bytes) => (bytes / (1 << 20)).toFixed(2);

/** One sample, after a full garbage collection in the page and the worker. */
async function sample(page, cdp, started) {
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    const inWorker = await workerMemory(page);
    const step = await page.evaluate(() => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')));
    const state = await page.evaluate(() => document.body.dataset.state);
    return { minute: (Date.now() - started) / 60_000, step, state, pageHeap: usedSize, ...inWorker };
}

async function soak(server, backend) {
    const browser = await launch();
    const failures = [];
    try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        const errors = [];
        page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
        page.on('pageerror', (err) => errors.push(err.message));
        await page.goto(`${server.url}${QUERY(backend)}`);
        await page.locator('#start:not([disabled])').waitFor({ timeout: 120_000 });
        const device = (await page.textContent('#backend-name')).trim();
        const cdp = await page.context().newCDPSession(page);
        await page.click('#start');
        const started = Date.now();
        const samples = [];
        while (Date.now() - started < minutes * 60_000) {
            await page.waitForTimeout(Math.min(every * 1000, started + minutes * 60_000 - Date.now()));
            samples.push(await sample(page, cdp, started));
        }
        const saved = await page.getAttribute('#save-status', 'data-step');
        console.log(`\n${backend} (${device}), ${minutes} min, sampled every ${every} s; last checkpoint at step ${saved ?? 'none'}`);
        console.table(samples.map((s) => ({
            minute: s.minute.toFixed(1), step: s.step, state: s.state,
            'page heap MB': mb(s.pageHeap), 'wasm MB': mb(s.wasmBytes), 'GPU buffers': s.gpuBuffers,
        })));
        const [first, last] = [samples[0], samples.at(-1)];
        if (samples.length < 2) failures.push('fewer than two samples: give it more --minutes than --every seconds');
        for (const s of samples.slice(1)) {
            const at = `minute ${s.minute.toFixed(1)}`;
            if (s.gpuBuffers !== first.gpuBuffers) failures.push(`${at}: ${s.gpuBuffers} GPU buffers, ${first.gpuBuffers} at first`);
            const wasmBound = 2 * 4 * (s.step - first.step) + WASM_SLACK;
            if (s.wasmBytes - first.wasmBytes > wasmBound) failures.push(`${at}: wasm memory grew ${mb(s.wasmBytes - first.wasmBytes)} MB, bound ${mb(wasmBound)} MB`);
            if (s.pageHeap - first.pageHeap > HEAP_SLACK) failures.push(`${at}: page heap grew ${mb(s.pageHeap - first.pageHeap)} MB, bound ${mb(HEAP_SLACK)} MB`);
            if (s.state !== 'running') failures.push(`${at}: the page is ${s.state}, not training`);
        }
        if (!saved) failures.push('the page saved no checkpoint');
        if (errors.length) failures.push(`errors: ${errors.join(' | ')}`);
        console.log(`${backend}: page heap ${mb(last.pageHeap - first.pageHeap)} MB, wasm ${mb(last.wasmBytes - first.wasmBytes)} MB, GPU buffers ${last.gpuBuffers - first.gpuBuffers} from the first sample to the last (${last.step - first.step} steps)`);
    } finally {
        await browser.close();
    }
    return failures.map((f) => `${backend}: ${f}`);
}

const server = await serve();
let failures = [];
try {
    for (const backend of backends) failures = failures.concat(await soak(server, backend));
} finally {
    server.close();
}
if (failures.length) {
    console.error(`\nsoak failed:\n${failures.join('\n')}`);
    process.exit(1);
}
console.log('\nsoak passed: memory and GPU buffers stayed within their bounds');
