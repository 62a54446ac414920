// The bench page (www/bench.html) in headless Chromium: a speed cell trains the
// bench config Rust lists, and time to target returns the dev trace with Rust's
// verdict on it (the wasm API's benchReached, the rule `makemore bench` applies
// to every path's trace). Needs a built www/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { useServerAndBrowser } from './harness.mjs';

const pkg = await import('../www/pkg/makemore.js');
pkg.initSync({ module: readFileSync(new URL('../www/pkg/makemore_bg.wasm', import.meta.url)) });
const { bench } = pkg.constants();

const env = useServerAndBrowser();

/** Opens bench.html with `query` (and `words` as its word list) and returns the page's results. */
async function runBench(query, words) {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    if (words) {
        await page.route('**/bench-words.txt', (route) => route.fulfill({ body: words, contentType: 'text/plain' }));
        query.set('data', 'bench-words.txt');
    }
    await page.goto(`${env.server.url}bench.html?${query}`);
    await page.waitForFunction(() => window.benchDone === true, null, { timeout: 240_000, polling: 250 });
    const out = await page.evaluate(() => ({ results: window.benchResults, error: window.benchError }));
    await context.close();
    assert.deepEqual(errors, []);
    assert.equal(out.error, undefined);
    return out.results;
}

test('time to target: the page returns its dev trace, judged by Rust', async () => {
    // One letter: the uniform loss, ln 2, is under every target, so the first
    // evaluation reaches them all and the run stops there.
    const words = Array.from({ length: 600 }, (_, i) => 'a'.repeat(1 + (i % 7))).join('\n');
    const [r] = await runBench(new URLSearchParams({ mode: 'ttt', paths: 'cpu', limit: '120' }), words);
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.trace.length, 1, JSON.stringify(r.trace));
    assert.equal(r.trace[0].step, bench.eval_every);
    assert.ok(r.trace[0].dev < Math.min(...bench.targets), JSON.stringify(r.trace));
    assert.deepEqual(r.targets.map((t) => t.target), bench.targets);
    assert.ok(r.targets.every((t) => t.at && t.at.step === r.trace[0].step), JSON.stringify(r.targets));
    // The verdict is the one Rust gives the same trace here.
    assert.deepEqual(r.targets, pkg.benchReached(r.trace).targets);
    const missed = pkg.benchReached([{ ...r.trace[0], dev: Math.max(...bench.targets) }]);
    assert.ok(missed.targets.every((t) => t.at === null) && !missed.done, 'a dev loss equal to a target does not reach it');
});

test('a speed cell trains the bench config Rust lists', async () => {
    const [r] = await runBench(new URLSearchParams({ configs: 'lecture', paths: 'cpu', seconds: '1' }));
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.config, 'lecture');
    assert.equal(r.backend, 'cpu');
    assert.ok(r.stepsPerSec > 0 && r.steps > 0, JSON.stringify(r));
});
