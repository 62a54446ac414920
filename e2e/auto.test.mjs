// `auto` in headless Chromium, whose only WebGPU adapter is SwiftShader, a
// fallback (software) adapter: the page and the element train on the CPU without
// a race and say why in plain words, with the adapter's facts in a closed
// <details>; a browser without WebGPU says "No GPU found" with the driver's words
// behind the disclosure; WebGPU forced with the hardware kernel set trains and
// agrees with the CPU; and the race itself, forced with ?calibrate=force, times
// both backends, shows both rates, picks the faster, is cached across reloads and
// runs again on "measure again". Saves badge screenshots in e2e/screenshots/.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, openPage, screenshots, useServerAndBrowser } from './harness.mjs';

const SMALL = 'preset=e01&n_embd=8&n_hidden=32&batch_size=32&lr=0.01&lr_decay=none&eval_every=0';
const TIMEOUT = 180_000;
const STORE = 'makemore-wasm:auto-backend';

const env = useServerAndBrowser();

/** The badge's parts, as the page shows them. */
async function badge(page) {
    return page.evaluate(() => {
        const $ = (id) => document.getElementById(id);
        return {
            name: $('backend-name').textContent,
            reason: $('backend-reason').textContent,
            rates: $('backend-rates').checkVisibility() ? $('backend-rates').textContent : '',
            details: $('backend-details').checkVisibility() ? $('backend-details').textContent : null,
            detailsOpen: $('backend-details').open,
            remeasure: $('remeasure').checkVisibility(),
        };
    });
}

async function trainToTheEnd(page) {
    await page.click('#start');
    await page.locator('#final-table:not([hidden])').waitFor({ timeout: TIMEOUT });
    return parseFloat(await page.textContent('#final-dev'));
}

/** Opens the details and screenshots the badge both ways. */
async function shootBadge(page, name) {
    await page.locator('#backend-badge').screenshot({ path: join(screenshots, `badge-${name}.png`) });
    await page.evaluate(() => { document.getElementById('backend-details').open = true; });
    await page.locator('#backend-badge').screenshot({ path: join(screenshots, `badge-${name}-details.png`) });
    await page.evaluate(() => { document.getElementById('backend-details').open = false; });
}

describe('auto on a fallback adapter', () => {
    test('the page trains on the CPU, names the fallback adapter and says why, without a race', async () => {
        const { page, errors } = await openPage(env.browser, env.server.url, `?${SMALL}&steps=200`);
        const b = await badge(page);
        assert.match(b.name, /^CPU/, JSON.stringify(b));
        assert.match(b.reason, /^Only a software GPU is available \(.+, a fallback adapter that emulates a GPU on the CPU\), so this trains on your CPU \(\d+ threads?\) directly\.$/, b.reason);
        assert.equal(b.rates, '', 'no rates: nothing was timed');
        assert.equal(b.remeasure, false);
        assert.equal(b.detailsOpen, false);
        assert.match(b.details, /fallback \(software\) adapter: yes/);
        assert.match(b.details, /CPU threads:/);
        assert.equal(await page.evaluate((key) => localStorage.getItem(key), STORE), null, 'nothing measured, nothing cached');
        assert.equal(await page.inputValue('select[name="backend"]'), 'auto');
        await shootBadge(page, 'fallback');
        assert.ok((await trainToTheEnd(page)) < 3.3);
        assert.deepEqual(errors, []);
        await page.context().close();
    });

    test('the element says the same plain words in its status line, details closed', async () => {
        const { page: main } = await openPage(env.browser, env.server.url, `?${SMALL}&steps=200`);
        const summary = await main.textContent('#backend-reason');
        await main.context().close();
        const context = await env.browser.newContext();
        const page = await context.newPage();
        await page.goto(`${env.server.url}examples/lesson.html`);
        const status = () => page.locator('#with-direct').evaluate((el) => el.shadowRoot.querySelector('.status').textContent);
        await page.waitForFunction(() => document.getElementById('with-direct')?.shadowRoot?.querySelector('.status')?.textContent.startsWith('Ready.'), null, { timeout: 60_000 });
        assert.equal(await status(), `Ready. ${summary}`);
        const details = await page.locator('#with-direct').evaluate((el) => {
            const d = el.shadowRoot.querySelector('details');
            return { hidden: d.hidden, open: d.open, text: d.textContent };
        });
        assert.equal(details.hidden, false);
        assert.equal(details.open, false);
        assert.match(details.text, /fallback \(software\) adapter: yes/);
        await page.locator('#with-direct').screenshot({ path: join(screenshots, 'badge-element.png') });
        await context.close();
    });
});

test('without WebGPU: "No GPU found" in plain words, the driver\'s words in a closed <details>', async () => {
    const bare = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-features=WebGPU', '--disable-gpu'] });
    try {
        const { page, errors } = await openPage(bare, env.server.url, `?${SMALL}&steps=50`);
        const b = await badge(page);
        assert.match(b.name, /^CPU/);
        assert.match(b.reason, /^No GPU found, so this trains on your CPU \(\d+ threads?\)\.$/, b.reason);
        assert.doesNotMatch(b.reason, /navigator|requestAdapter|adapter/);
        assert.equal(b.detailsOpen, false);
        assert.match(b.details, /WebGPU: (this browser has no WebGPU|navigator\.gpu\.requestAdapter)/, b.details);
        await shootBadge(page, 'no-webgpu');
        assert.deepEqual(errors, []);
    } finally {
        await bare.close();
    }
});

test('WebGPU with the hardware kernel set, forced by URL, trains and agrees with the CPU', async () => {
    const run = `?${SMALL}&steps=60&gpu_kernels=hardware`;
    const { page: gpu, errors } = await openPage(env.browser, env.server.url, `${run}&backend=webgpu`);
    assert.equal(await gpu.inputValue('select[name="gpu_kernels"]'), 'hardware');
    const b = await badge(gpu);
    assert.equal(b.name, 'WebGPU');
    assert.match(b.reason, /^This trains on WebGPU \(.+\), as chosen in the settings\.$/, b.reason);
    assert.match(b.details, /GPU kernels: hardware/);
    const gpuDev = await trainToTheEnd(gpu);
    assert.match(gpu.url(), /gpu_kernels=hardware/);
    await shootBadge(gpu, 'webgpu-hardware');
    const { page: cpu } = await openPage(env.browser, env.server.url, `${run}&backend=cpu`);
    const cpuDev = await trainToTheEnd(cpu);
    assert.ok(Math.abs(gpuDev - cpuDev) < 2e-3, `dev ${gpuDev} on WebGPU, ${cpuDev} on the CPU`);
    assert.deepEqual(errors, []);
    await gpu.context().close();
    await cpu.context().close();
});

describe('the race, forced on the fallback adapter (?calibrate=force)', () => {
    const RATES = /^WebGPU \((.+)\): ([\d,]+) steps\/s · CPU ([\d,]+) steps\/s → (WebGPU|CPU)( \(measured earlier\))?$/;
    const num = (text) => Number(text.replace(/,/g, ''));
    const RACE = `?${SMALL}&steps=300&calibrate=force`;
    let page;
    let errors;

    /** The rates line read back, checked against the stored numbers and the device in use. */
    async function measured() {
        const b = await badge(page);
        const m = b.rates.match(RATES);
        assert.ok(m, `rates line: ${JSON.stringify(b)}`);
        const [, , gpu, cpu, choice, earlier] = m;
        const stored = Object.values(JSON.parse(await page.evaluate((key) => localStorage.getItem(key), STORE)));
        assert.equal(stored.length, 1, 'one adapter, one model shape: one entry');
        const [{ rates, at }] = stored;
        assert.ok(rates.cpu > 0 && rates.gpu > 0, JSON.stringify(rates));
        assert.equal(num(gpu), Math.round(rates.gpu));
        assert.equal(num(cpu), Math.round(rates.cpu));
        // The faster of the two it measured (a tie goes to the CPU), and it trains there.
        assert.equal(choice, rates.gpu > rates.cpu ? 'WebGPU' : 'CPU');
        assert.match(b.name, choice === 'WebGPU' ? /^WebGPU$/ : /^CPU/);
        assert.equal(b.remeasure, true);
        return { b, rates, at, cached: Boolean(earlier) };
    }

    test('times both backends, shows both rates, picks the faster and trains there', async () => {
        ({ page, errors } = await openPage(env.browser, env.server.url, RACE));
        const first = await measured();
        assert.equal(first.cached, false);
        assert.match(first.b.reason, /trained this model faster than/);
        console.log('forced race:', first.b.rates);
        await shootBadge(page, 'race');
        assert.ok((await trainToTheEnd(page)) < 3.3);
    });

    test('a reload reuses the cached decision; "measure again" measures again', async () => {
        const before = await measured();
        const measuring = [];
        await page.exposeFunction('__sawMeasuring', () => measuring.push(Date.now()));
        const watch = () => {
            const seen = new MutationObserver(() => {
                if (/^timing the CPU and the GPU/.test(document.getElementById('backend-reason').textContent)) window.__sawMeasuring();
            });
            addEventListener('DOMContentLoaded', () => seen.observe(document.getElementById('backend-reason'), { childList: true, characterData: true, subtree: true }));
        };
        await page.addInitScript(watch);
        // A fresh load of the same link (the page rewrites its URL from the form, which has no calibrate field).
        await page.goto(`${env.server.url}${RACE}`);
        await page.locator('#start:not([disabled])').waitFor({ timeout: 60_000 });
        const again = await measured();
        assert.equal(again.cached, true, again.b.rates);
        assert.equal(again.at, before.at, 'the stored measurement was not replaced');
        assert.deepEqual(again.rates, before.rates);
        assert.deepEqual(measuring, [], 'no second race');

        await page.click('#remeasure');
        await page.waitForFunction((at) => {
            const all = Object.values(JSON.parse(localStorage.getItem('makemore-wasm:auto-backend')));
            return all.length === 1 && all[0].at !== at && !document.getElementById('backend-rates').textContent.includes('earlier');
        }, before.at, { timeout: 60_000 });
        await page.locator('#start:not([disabled])').waitFor({ timeout: 60_000 });
        const fresh = await measured();
        assert.equal(fresh.cached, false);
        assert.equal(measuring.length, 1, 'one race on "measure again"');
        assert.deepEqual(errors, []);
        await page.context().close();
    });
});
