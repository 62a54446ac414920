// Where a CPU training step spends its time in wasm: trains one bench config
// through the wasm API in headless Chromium (on the page's thread) under V8's
// sampling profiler, and prints each wasm function's share of the samples
// (self time) and the steps per second.
//
//   node bench/wasm-profile.mjs --pkg DIR [--config lecture] [--seconds 5] [--chunk 200] [--data FILE]
//
// Function names come from the wasm's name section, which wasm-opt drops:
// profile a build straight from wasm-pack, e.g.
//   wasm-pack build --target web --release --out-dir /tmp/pkg-prof --no-pack
//   node bench/wasm-profile.mjs --pkg /tmp/pkg-prof
// (add RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd' and a CARGO_TARGET_DIR
// of its own for the relaxed build). The configs are the bench's, from the build's
// constants().bench (src/web/constants.rs), on the CPU.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launch, serve } from '../e2e/harness.mjs';

const { values } = parseArgs({
    options: {
        pkg: { type: 'string', default: 'www/pkg' },
        config: { type: 'string', default: 'lecture' },
        seconds: { type: 'string', default: '5' },
        chunk: { type: 'string', default: '200' },
        data: { type: 'string', default: 'data/names.txt' },
        top: { type: 'string', default: '20' },
    },
});

const dir = resolve(values.pkg);
const server = await serve();
const browser = await launch();
try {
    const page = await browser.newPage();
    // The build and the word list under URLs of the served origin.
    await page.route('**/profile/**', (route) => {
        const name = new URL(route.request().url()).pathname.split('/').pop();
        const types = { js: 'text/javascript', wasm: 'application/wasm', txt: 'text/plain', html: 'text/html' };
        const body = name === 'index.html' ? '<!doctype html><title>profile</title>'
            : name === 'words.txt' ? readFileSync(values.data) : readFileSync(join(dir, name));
        return route.fulfill({ body, contentType: types[name.split('.').pop()] });
    });
    await page.goto(`${server.url}profile/index.html`);
    await page.evaluate(async (name) => {
        const pkg = await import(new URL('makemore.js', location.href).href);
        await pkg.default();
        const { configs } = pkg.constants().bench;
        if (!configs[name]) throw new Error(`unknown config ${name}; use ${Object.keys(configs).join(', ')}`);
        const text = await (await fetch('words.txt')).arrayBuffer();
        window.trainer = await pkg.Trainer.createOn(text, { ...configs[name], backend: 'cpu' }, 'cpu');
    }, values.config);
    const run = (seconds) => page.evaluate(async ([seconds, chunk]) => {
        const t0 = performance.now();
        let steps = 0;
        while (performance.now() - t0 < seconds * 1000) {
            await window.trainer.train(chunk);
            steps += chunk;
        }
        return steps / ((performance.now() - t0) / 1000);
    }, [seconds, Number(values.chunk)]);
    await run(1); // warm up: the optimizing tier compiles the hot functions

    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
    const rate = await run(Number(values.seconds));
    const { profile } = await cdp.send('Profiler.stop');

    // Self time per function name, from the samples.
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const counts = new Map();
    for (const id of profile.samples) {
        const f = byId.get(id).callFrame;
        const name = f.functionName || `(${f.url || 'anonymous'})`;
        counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const total = profile.samples.length;
    console.log(`${values.config}: ${rate.toFixed(1)} steps/s (${values.chunk} steps a call), ${total} samples`);
    // What a call costs beyond its steps: JS glue, promises, the session's bookkeeping.
    const outside = [...counts].filter(([name]) => !name.startsWith('makemore::backend::cpu') && name !== '(idle)');
    const share = outside.reduce((sum, [, n]) => sum + n, 0) / total;
    console.log(`outside the CPU backend's step: ${(100 * share).toFixed(2)}% of the samples`);
    for (const [name, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
        console.log(`${(100 * n / total).toFixed(1).padStart(5)}%  ${name.replace(/::h[0-9a-f]{16}$/, '').slice(0, 140)}`);
    }
} finally {
    await browser.close();
    server.close();
}
