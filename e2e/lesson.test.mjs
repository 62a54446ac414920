// The lesson page (www/examples/lesson.html) from the plain static server
// (scripts/serve.mjs: no COOP/COEP headers, so no cross-origin isolation): both
// <makemore-trainer> elements train on the CPU, each fires `progress` and `done`,
// and their losses differ. Also the element alone in a sandboxed iframe
// (sandbox="allow-scripts", an opaque origin) behind a server that, like GitHub
// Pages, answers with Access-Control-Allow-Origin: *. Saves e2e/screenshots/lesson.png.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, screenshots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

/** Counts every element event that reaches the document, from before the page's scripts run. */
function recordEvents() {
    window.__events = [];
    for (const type of ['progress', 'done', 'error', 'ready']) {
        document.addEventListener(type, (event) => {
            if (event.target.localName !== 'makemore-trainer') return;
            window.__events.push({ type, id: event.target.id, detail: event.detail });
        });
    }
}

test('the lesson page trains two elements without cross-origin isolation', async () => {
    const context = await env.browser.newContext({ viewport: { width: 1300, height: 1100 } });
    const page = await context.newPage();
    const errors = [];
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    page.on('pageerror', (err) => errors.push(err.message));
    await page.addInitScript(recordEvents);
    const started = Date.now();
    const response = await page.goto(`${env.server.url}examples/lesson.html?backend=cpu`);
    const headers = response.headers();
    assert.equal(headers['cross-origin-opener-policy'], undefined);
    assert.equal(headers['cross-origin-embedder-policy'], undefined);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);

    // Both elements build their model, then one click starts both.
    await page.waitForFunction(() => window.__events.filter((e) => e.type === 'ready').length === 2, null, { timeout: 60_000 });
    await page.click('#start-both');
    await page.waitForFunction(() => document.querySelector('#verdict').dataset.done === 'true'
        || window.__events.some((e) => e.type === 'error'), null, { timeout: 120_000, polling: 250 });
    const seconds = (Date.now() - started) / 1000;

    const events = await page.evaluate(() => window.__events);
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
    const results = {};
    for (const id of ['with-direct', 'without-direct']) {
        const mine = events.filter((e) => e.id === id);
        const progress = mine.filter((e) => e.type === 'progress');
        const done = mine.filter((e) => e.type === 'done');
        assert.ok(progress.length > 0, `${id} fired no progress`);
        assert.ok(progress.every((e) => Number.isFinite(e.detail.loss) && e.detail.step > 0), `${id}: a bad progress event`);
        assert.equal(progress.at(-1).detail.step, 2000);
        assert.equal(done.length, 1, `${id} fired ${done.length} done events`);
        const { train, dev, test: testLoss } = done[0].detail;
        for (const x of [train, dev, testLoss]) assert.ok(x > 1.5 && x < 3.3, `${id}: loss ${x}`);
        results[id] = { dev, train, test: testLoss, progressEvents: progress.length };
        const status = await page.locator(`#${id}`).evaluate((el) => el.shadowRoot.querySelector('.status').textContent);
        assert.match(status, /CPU/);
    }
    console.log(`lesson: ${seconds.toFixed(1)} s`, JSON.stringify(results));
    assert.notEqual(results['with-direct'].dev, results['without-direct'].dev);
    // The verdict names the model with the lower dev loss, by how much, and both losses, lower first.
    const [withDev, withoutDev] = [results['with-direct'].dev, results['without-direct'].dev];
    const verdict = await page.textContent('#verdict');
    assert.match(verdict, withDev < withoutDev ? /^With direct connections/ : /^Without direct connections/, verdict);
    const [, by, lower, higher] = verdict.match(/lower by (\d+\.\d+) \((\d+\.\d+) vs (\d+\.\d+)\)/) ?? [];
    const close = (shown, x) => Math.abs(Number(shown) - x) <= 6e-5; // toFixed(4) rounds by up to 5e-5
    assert.ok(close(lower, Math.min(withDev, withoutDev)) && close(higher, Math.max(withDev, withoutDev)), verdict);
    assert.ok(close(by, Math.abs(withDev - withoutDev)), verdict);
    // Each split's lower loss is the highlighted cell.
    for (const split of ['train', 'dev', 'test']) {
        const best = await page.locator(`td.best[data-split="${split}"]`).getAttribute('data-for');
        const a = results['with-direct'][split];
        const b = results['without-direct'][split];
        assert.equal(best, a <= b ? 'with-direct' : 'without-direct', `${split}: ${a} vs ${b}`);
    }
    await page.screenshot({ path: join(screenshots, 'lesson.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await context.close();
});

test('the element trains in a sandboxed iframe (opaque origin, CORS host)', async () => {
    // A static host like GitHub Pages: www/ with Access-Control-Allow-Origin: *, and
    // a host page whose iframe has only allow-scripts.
    const cors = createServer(async (req, res) => {
        const path = new URL(req.url, 'http://x').pathname;
        if (path === '/host.html') {
            res.writeHead(200, { 'Content-Type': 'text/html' }).end(
                '<!doctype html><iframe sandbox="allow-scripts" width="600" height="400" src="/frame.html"></iframe>');
            return;
        }
        if (path === '/frame.html') {
            res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<!doctype html>
<script type="module" src="/element.js"></script>
<makemore-trainer id="t" preset="e01" backend="cpu" steps="300" autostart compact></makemore-trainer>
<script>
for (const type of ['ready', 'progress', 'done', 'error']) document.addEventListener(type, (e) => {
  if (e.target.localName === 'makemore-trainer') parent.postMessage({ type, detail: e.detail }, '*');
});
</script>`);
            return;
        }
        const upstream = await fetch(new URL(path, env.server.url));
        res.writeHead(upstream.status, {
            'Content-Type': upstream.headers.get('content-type') ?? 'application/octet-stream',
            'Access-Control-Allow-Origin': '*',
        });
        res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise((resolve) => cors.listen(0, '127.0.0.1', resolve));
    try {
        const page = await env.browser.newPage();
        const errors = [];
        page.on('pageerror', (err) => errors.push(err.message));
        await page.addInitScript(() => {
            window.__frame = [];
            addEventListener('message', ({ data }) => window.__frame.push(data));
        });
        await page.goto(`http://127.0.0.1:${cors.address().port}/host.html`);
        assert.equal(await page.frames()[1].evaluate(() => origin), 'null');
        await page.waitForFunction(() => window.__frame.some((e) => e.type === 'done' || e.type === 'error'), null, { timeout: 60_000 });
        const events = await page.evaluate(() => window.__frame);
        assert.deepEqual(events.filter((e) => e.type === 'error'), []);
        assert.ok(events.some((e) => e.type === 'progress'));
        const done = events.find((e) => e.type === 'done');
        console.log('sandboxed iframe: done', JSON.stringify(done.detail));
        assert.ok(done.detail.dev < 3.3);
        assert.deepEqual(errors, []);
        await page.close();
    } finally {
        cors.close();
    }
});

test('without WebGPU the element says so and trains on the CPU', async () => {
    // A browser with WebGPU switched off; the lesson's backend left on auto.
    const bare = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-features=WebGPU', '--disable-gpu'] });
    try {
        const page = await bare.newPage();
        await page.addInitScript(recordEvents);
        await page.goto(`${env.server.url}examples/lesson.html?steps=100&autostart`);
        await page.waitForFunction(() => window.__events.filter((e) => e.type === 'done' || e.type === 'error').length === 2, null, { timeout: 60_000 });
        const events = await page.evaluate(() => window.__events);
        assert.deepEqual(events.filter((e) => e.type === 'error'), []);
        const ready = events.filter((e) => e.type === 'ready');
        assert.equal(ready.length, 2);
        for (const e of ready) {
            assert.equal(e.detail.backend, 'cpu');
            assert.match(e.detail.reason, /^No GPU found, so this trains on your CPU/);
        }
        const { status, details } = await page.locator('#with-direct').evaluate((el) => ({
            status: el.shadowRoot.querySelector('.status').textContent,
            details: el.shadowRoot.querySelector('details').textContent,
        }));
        console.log('no WebGPU:', status, '|', details);
        assert.match(status, /No GPU found, so this trains on your CPU \(1 thread\)\./);
        assert.match(details, /WebGPU: /);
    } finally {
        await bare.close();
    }
});
