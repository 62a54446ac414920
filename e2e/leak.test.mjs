// No leaks: 60 create → train → reset cycles on WebGPU keep the page's JS heap,
// the worker's wasm memory and the GPU buffer count flat. Chromium runs with
// --expose-gc so each measurement follows a full garbage collection.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPage, repo, useServerAndBrowser, workerMemory } from './harness.mjs';

const CYCLES = 60;
/** Cycles before the first measurement: up to about cycle 20 the heap still shrinks after a GC. */
const WARMUP = 20;
/** Cycles between measurements; each measurement clears the lab's history. */
const EVERY = 10;
/**
 * What a leak would break: one trainer's GPU buffers (exact), or a few MB of wasm
 * memory over the 40 measured cycles. The page heap also grows without a leak: a
 * heap snapshot diff over 20 CPU-backend cycles (after clearing the lab's
 * history) put that on V8's compiled code (InstructionStream, ~190 KB) and the
 * browser's buffered layout-shift performance entries, which keep the history
 * rows they moved alive; the more rows between two clears, the more it grows, so
 * the history is cleared every EVERY cycles. So the bound comes from each run's
 * own baseline: the 30 cycles after the first 10 measured may grow the heap by at
 * most HEAP_FACTOR times what those 10 did (a steady leak grows it 3 times as
 * much). In some runs the heap still settles during the baseline cycles (it
 * shrinks), so MIN_BASELINE stands in for a smaller baseline. Measured here, 3
 * runs: baseline −311, −308 and +144 KB, so bounds of 192, 192 and 216 KB; the
 * 30 later cycles grew it 93 KB each time. A leak of 500 small objects a cycle
 * (about 16 KB) put in the page's reset handler grew it 581 KB and failed.
 * Since the page saves the running run for a reload (resume.js: a weights export
 * through IndexedDB and a status line at each evaluation), the 30 later cycles
 * grew it 140 KB and 377 KB in two full-suite runs (2026-11-30), the second after
 * a baseline that shrank 166 KB, while the heap ended near 5.0 MB both times. So
 * the floor is 320 KB (a bound of 480 KB): the 16 KB-a-cycle leak above adds
 * about 480 KB on top of that, and keeping a weights file a cycle (240 KB) would
 * add 7 MB.
 */
const HEAP_FACTOR = 1.5;
const MIN_BASELINE = 320 << 10;
const MAX_WASM_GROWTH = 4 << 20;

/**
 * After a full GC: the page's JS heap, and the worker's wasm memory and live GPU
 * buffers. The lab keeps every finished run by design, so its history is cleared
 * first (the second click confirms).
 */
async function measure(page) {
    await page.click('#history-clear');
    await page.click('#history-clear');
    await page.waitForFunction(() => document.getElementById('runs-body').rows.length === 0);
    const pageHeap = await page.evaluate(() => {
        gc();
        return performance.memory.usedJSHeapSize;
    });
    const inWorker = await workerMemory(page, { gc: true });
    return { pageHeap, ...inWorker };
}

describe('60 create/train/reset cycles', () => {
    const env = useServerAndBrowser({ flags: ['--js-flags=--expose-gc'] });

    test('keep the JS heap, wasm memory and GPU buffer count flat', async () => {
        const query = '?preset=e01&n_embd=8&n_hidden=32&batch_size=32&lr=0.01&steps=20&eval_every=0&backend=webgpu';
        const { page, errors } = await openPage(env.browser, env.server.url, query);
        assert.match(await page.textContent('#backend-badge'), /^\s*WebGPU/);
        // 3000 names: each cycle's evaluations stay short on a software GPU.
        const names = readFileSync(join(repo, 'data/names.txt'), 'utf8').split('\n').slice(0, 3000).join('\n');
        await page.setInputFiles('#data-file', { name: 'names-3000.txt', mimeType: 'text/plain', buffer: Buffer.from(names) });
        await page.waitForFunction(() => document.getElementById('data-name').textContent === 'names-3000.txt');
        const measured = [];
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
            await page.click('#start');
            await page.locator('#final-table:not([hidden])').waitFor({ timeout: 60_000 });
            // The lab saves each finished run (IndexedDB) after the run ends: wait for
            // its row, so that no save is still under way when a measurement clears them.
            const rows = cycle > WARMUP ? ((cycle - WARMUP - 1) % EVERY) + 1 : cycle;
            await page.waitForFunction((n) => document.getElementById('runs-body').rows.length >= n, rows, { timeout: 60_000 });
            await page.click('#reset');
            await page.waitForFunction(
                () => document.body.dataset.state === 'idle' && document.getElementById('final-table').hidden,
                null,
                { timeout: 60_000 },
            );
            if (cycle >= WARMUP && (cycle - WARMUP) % EVERY === 0) measured.push({ cycle, ...(await measure(page)) });
        }
        console.log(measured.map((m) => JSON.stringify(m)).join('\n'));
        const [warm, base, end] = [measured[0], measured[1], measured.at(-1)];
        assert.equal(end.cycle, CYCLES);
        assert.ok(warm.gpuBuffers > 0, 'the trainer holds GPU buffers');
        assert.equal(end.gpuBuffers, warm.gpuBuffers, 'GPU buffers: one trainer\'s worth, before and after');
        const baseline = Math.max(base.pageHeap - warm.pageHeap, MIN_BASELINE);
        const later = end.pageHeap - base.pageHeap;
        assert.ok(
            later <= HEAP_FACTOR * baseline,
            `page heap grew ${later} bytes over cycles ${base.cycle}–${end.cycle}, more than ${HEAP_FACTOR} × ${baseline} (cycles ${warm.cycle}–${base.cycle})`,
        );
        assert.ok(end.wasmBytes - warm.wasmBytes < MAX_WASM_GROWTH, `wasm memory grew ${end.wasmBytes - warm.wasmBytes} bytes`);
        assert.deepEqual(errors, []);
        await page.close();
    });
});
