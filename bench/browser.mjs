// The browser rows of `makemore bench`: serves www/ cross-origin isolated, opens
// www/bench.html in headless Chromium (WebGPU on SwiftShader, as in the e2e
// tests) and prints the page's results as one JSON line.
//
//   node bench/browser.mjs --configs seed,lecture --paths cpu,webgpu --seconds 5 \
//       [--threads 1] [--simd simd128|relaxed] [--data ../shared/data/names.txt] [--mode ttt --limit 300]
//
// --simd picks the single-threaded wasm build (www/wasm.js); each result names it
// (`simd`), the threaded build being simd128.
//
// Needs the page built (scripts/build-web.sh) and e2e/node_modules (npm ci in e2e/).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launch, serve } from '../e2e/harness.mjs';

const { values } = parseArgs({
    options: {
        configs: { type: 'string', default: 'seed,lecture' },
        paths: { type: 'string', default: 'cpu,webgpu' },
        seconds: { type: 'string', default: '5' },
        threads: { type: 'string', default: '0' },
        simd: { type: 'string', default: '' },
        data: { type: 'string' },
        mode: { type: 'string', default: 'speed' },
        limit: { type: 'string', default: '300' },
    },
});

const server = await serve({ isolate: true });
const browser = await launch();
try {
    const page = await browser.newPage();
    const query = new URLSearchParams({
        configs: values.configs, paths: values.paths, seconds: values.seconds,
        threads: values.threads, mode: values.mode, limit: values.limit, simd: values.simd,
    });
    if (values.data) {
        // The word list comes from outside www/: hand it to the page at a URL of its origin.
        const bytes = readFileSync(values.data);
        await page.route('**/bench-data.txt', (route) => route.fulfill({ body: bytes, contentType: 'text/plain' }));
        query.set('data', 'bench-data.txt');
    }
    await page.goto(`${server.url}bench.html?${query}`);
    await page.waitForFunction(() => window.benchDone === true, null, { timeout: 0, polling: 500 });
    const out = await page.evaluate(() => ({
        results: window.benchResults, threads: window.benchThreads, error: window.benchError,
        isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency, agent: navigator.userAgent,
    }));
    const asked = values.simd || 'simd128';
    out.results = (out.results ?? []).map((r) => ({ ...r, simd: asked }));
    // The worker says which build it loaded (wasm.reason): a row must not claim another.
    const loaded = { simd128: '; SIMD build: as asked', relaxed: '; relaxed-SIMD build (fused multiply-add): as asked' };
    if (values.simd && !out.threads?.includes(loaded[values.simd])) {
        out.error = `asked for the ${values.simd} build, but the worker says: ${out.threads}`;
    }
    console.log(JSON.stringify(out));
} finally {
    await browser.close();
    server.close();
}
