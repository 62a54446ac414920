// No leaks: 50 create → train → reset cycles on WebGPU keep the page's JS heap,
// the worker's wasm memory and the GPU buffer count flat. Chromium runs with
// --expose-gc so each measurement follows a full garbage collection.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPage, repo, useServerAndBrowser } from './harness.mjs';

const CYCLES = 50;
const WARMUP = 5;
/**
 * What a leak would break: one trainer's GPU buffers (exact), or a few MB of wasm
 * memory per 45 cycles. Measured here: wasm +0, buffers equal; page heap +0.1 MB
 * before the learning lab joined the page, +1.4 to 4.0 MB with it. A heap
 * snapshot diff over 20 CPU-backend cycles (after clearing the lab's history) shows the
 * growth is V8's compiled code (InstructionStream, ~190 KB) and the browser's
 * buffered layout-shift performance entries, not objects the page keeps; the
 * page heap bound leaves room for that.
 */
const MAX_PAGE_HEAP_GROWTH = 8 << 20;
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
    const [worker] = page.workers();
    const inWorker = await worker.evaluate(async () => {
        gc();
        // The worker's own instance of the single-threaded package (the page is not
        // cross-origin isolated here): a module is loaded once per worker.
        const pkg = await import(new URL('./pkg/makemore.js', self.location.href).href);
        return { gpuBuffers: pkg.liveGpuBuffers(), wasmBytes: pkg.wasmMemoryBytes() };
    });
    return { pageHeap, ...inWorker };
}

describe('50 create/train/reset cycles', () => {
    const env = useServerAndBrowser({ flags: ['--js-flags=--expose-gc'] });

    test('keep the JS heap, wasm memory and GPU buffer count flat', async () => {
        const query = '?preset=e01&n_embd=8&n_hidden=32&batch_size=32&lr=0.01&steps=20&eval_every=0&backend=webgpu';
        const { page, errors } = await openPage(env.browser, env.server.url, query);
        assert.match(await page.textContent('#backend-badge'), /^\s*WebGPU/);
        // 3000 names: each cycle's evaluations stay short on a software GPU.
        const names = readFileSync(join(repo, 'data/names.txt'), 'utf8').split('\n').slice(0, 3000).join('\n');
        await page.setInputFiles('#data-file', { name: 'names-3000.txt', mimeType: 'text/plain', buffer: Buffer.from(names) });
        await page.waitForFunction(() => document.getElementById('data-name').textContent === 'names-3000.txt');
        let warm;
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
            await page.click('#start');
            await page.locator('#final-table:not([hidden])').waitFor({ timeout: 60_000 });
            // The lab saves each finished run (IndexedDB) after the run ends: wait for
            // its row, so that no save is still under way when a measurement clears them.
            const rows = cycle > WARMUP ? cycle - WARMUP : cycle;
            await page.waitForFunction((n) => document.getElementById('runs-body').rows.length >= n, rows, { timeout: 60_000 });
            await page.click('#reset');
            await page.waitForFunction(
                () => document.body.dataset.state === 'idle' && document.getElementById('final-table').hidden,
                null,
                { timeout: 60_000 },
            );
            if (cycle === WARMUP) warm = await measure(page);
        }
        const end = await measure(page);
        console.log(`after ${WARMUP} cycles: ${JSON.stringify(warm)}; after ${CYCLES}: ${JSON.stringify(end)}`);
        assert.ok(warm.gpuBuffers > 0, 'the trainer holds GPU buffers');
        assert.equal(end.gpuBuffers, warm.gpuBuffers, 'GPU buffers: one trainer\'s worth, before and after');
        assert.ok(end.pageHeap - warm.pageHeap < MAX_PAGE_HEAP_GROWTH, `page heap grew ${end.pageHeap - warm.pageHeap} bytes`);
        assert.ok(end.wasmBytes - warm.wasmBytes < MAX_WASM_GROWTH, `wasm memory grew ${end.wasmBytes - warm.wasmBytes} bytes`);
        assert.deepEqual(errors, []);
        await page.close();
    });
});
