// The page in headless Chromium: trains on WebGPU (SwiftShader) and on the CPU,
// stays responsive, takes custom and bad word lists, and round-trips weights.
// One page, tests in order. Needs a built www/ (scripts/build-web.sh).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { downloads, launch, openPage, screenshots, serve, waitForNumber } from './harness.mjs';

// Small enough for WebGPU on SwiftShader (a software GPU: about 50 steps/s here).
const QUICK = '?preset=e01&n_embd=8&n_hidden=32&batch_size=32&lr=0.01&steps=600&eval_every=300';
const TRAIN_MS = 180_000;

describe('the page', () => {
    let server;
    let browser;
    let page;
    let requests;
    let errors;

    before(async () => {
        server = await serve();
        browser = await launch();
        ({ page, requests, errors } = await openPage(browser, server.url, `${QUICK}&backend=webgpu`));
    });

    after(async () => {
        await browser?.close();
        server?.close();
    });

    async function trainToTheEnd() {
        await page.click('#start');
        await page.locator('#final-table:not([hidden])').waitFor({ timeout: TRAIN_MS });
    }

    // auto on SwiftShader (a fallback adapter) means the CPU: see auto.test.mjs.
    test('trains on WebGPU when chosen: the loss falls below 2.6 and names appear', async () => {
        const badge = await page.textContent('#backend-badge');
        assert.match(badge, /^\s*WebGPU/, `expected WebGPU on SwiftShader, got: ${badge}`);
        await trainToTheEnd();
        await waitForNumber(page, '#final-dev', { below: 2.6 }, 1000);
        assert.ok((await page.locator('#samples li').count()) >= 10);
        const names = await page.locator('#samples li').allTextContents();
        assert.ok(names.filter((n) => /^[a-z]+$/.test(n)).length >= 10, names.join(' '));
        await page.screenshot({ path: join(screenshots, 'webgpu.png'), fullPage: true });
    });

    test('switches to the CPU and trains again, staying responsive', async () => {
        await page.selectOption('select[name="backend"]', 'cpu');
        await page.click('#reset');
        await page.waitForFunction(() => document.getElementById('backend-name').textContent === 'CPU');
        assert.match(await page.textContent('#backend-reason'), /chosen in the settings/);
        assert.match(page.url(), /backend=cpu/);
        await page.click('#start');
        await page.waitForFunction(() => document.body.dataset.state === 'running');
        // Clicks during training: how long after the input event does the handler run?
        await page.evaluate(() => {
            window.clickDelays = [];
            document.getElementById('log-scale').addEventListener('click', (e) => {
                window.clickDelays.push(performance.now() - e.timeStamp);
            });
        });
        for (let i = 0; i < 10; i++) {
            await page.click('#log-scale');
            await page.waitForTimeout(150);
        }
        const delays = await page.evaluate(() => window.clickDelays);
        assert.equal(delays.length, 10);
        assert.ok(Math.max(...delays) < 100, `click handler delays ${delays.map((d) => d.toFixed(1)).join(', ')} ms`);
        await page.locator('#final-table:not([hidden])').waitFor({ timeout: TRAIN_MS });
        await waitForNumber(page, '#final-dev', { below: 2.6 }, 1000);
        await page.screenshot({ path: join(screenshots, 'cpu.png'), fullPage: true });
    });

    test('pause takes effect and resume goes on', async () => {
        await page.fill('input[name="steps"]', '100000');
        await page.click('#reset');
        await page.waitForFunction(() => document.body.dataset.state === 'idle');
        await page.click('#start');
        await page.waitForFunction(() => document.body.dataset.state === 'running');
        await page.waitForTimeout(500);
        await page.click('#start'); // Pause
        await page.waitForFunction(() => document.body.dataset.state === 'paused');
        assert.equal(await page.textContent('#start'), 'Resume');
        const paused = await page.textContent('#stat-step');
        await page.waitForTimeout(700);
        assert.equal(await page.textContent('#stat-step'), paused, 'training went on while paused');
        await page.click('#start');
        await page.waitForFunction((s) => document.getElementById('stat-step').textContent !== s, paused);
    });

    test('downloads the weights and loads them back', async () => {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
        const file = join(downloads, download.suggestedFilename());
        await download.saveAs(file);
        assert.match(download.suggestedFilename(), /^makemore-step\d+\.safetensors$/);
        await page.setInputFiles('#weights-file', file);
        await page.waitForFunction(() => /Loaded weights saved at step/.test(document.getElementById('weights-message').textContent));
        assert.equal(await page.isHidden('#weights-error'), true);
        await page.setInputFiles('#weights-file', { name: 'junk.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('junk') });
        await page.locator('#weights-error:not([hidden])').waitFor();
        assert.match(await page.textContent('#weights-error'), /^weights file:/);
    });

    test('loads a custom word list and shows its statistics', async () => {
        const words = Array.from({ length: 500 }, (_, i) => `pet${'abcdefghij'[i % 10]}${'klmnopqrst'[Math.floor(i / 10) % 10]}${'uvwxyz'[Math.floor(i / 100) % 6]}`);
        await page.setInputFiles('#data-file', { name: 'pets.txt', mimeType: 'text/plain', buffer: Buffer.from(words.join('\n')) });
        await page.waitForFunction(() => document.getElementById('data-name').textContent === 'pets.txt');
        assert.equal(await page.textContent('#stat-words'), '500');
        assert.equal(await page.textContent('#stat-split-words'), '400 / 50 / 50');
        assert.match(await page.textContent('#stat-vocab'), /^\.abcdef/);
    });

    test('rejects a bad file dropped on the page with a message and keeps the data', async () => {
        const binary = [0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0xff, 0xfe, 0x00];
        await page.evaluate((bytes) => {
            const files = new DataTransfer();
            files.items.add(new File([new Uint8Array(bytes)], 'program.bin'));
            const drop = new DragEvent('drop', { dataTransfer: files, bubbles: true, cancelable: true });
            document.getElementById('drop-zone').dispatchEvent(drop);
        }, binary);
        await page.locator('#data-error:not([hidden])').waitFor();
        assert.match(await page.textContent('#data-error'), /^word list: /);
        assert.equal(await page.textContent('#data-name'), 'pets.txt');
        assert.equal(await page.textContent('#stat-words'), '500');
    });

    test('a link reproduces the settings', async () => {
        const linked = await browser.newPage();
        await linked.goto(`${server.url}?preset=e03&n_hidden=123&backend=cpu`);
        await linked.locator('#start:not([disabled])').waitFor();
        assert.equal(await linked.inputValue('input[name="block_size"]'), '4');
        assert.equal(await linked.inputValue('input[name="n_hidden"]'), '123');
        assert.equal(await linked.isChecked('input[name="direct"]'), true);
        await linked.fill('input[name="n_embd"]', '7');
        await linked.dispatchEvent('input[name="n_embd"]', 'change');
        assert.match(linked.url(), /[?&]n_embd=7(&|$)/);
        await linked.close();
    });

    test('a link with values the page cannot take says which, and still trains', async () => {
        const linked = await browser.newPage();
        await linked.goto(`${server.url}?preset=e01&n_embd=8&n_hidden=32&steps=30&eval_every=0&backend=gpu&batch_size=lots`);
        await linked.locator('#start:not([disabled])').waitFor();
        const note = await linked.textContent('#link-note');
        assert.match(note, /backend=gpu is not a value this page takes, so it uses auto\./);
        assert.match(note, /batch_size=lots is not a value this page takes, so it uses 256\./);
        assert.equal(await linked.inputValue('select[name="backend"]'), 'auto');
        await linked.click('#start');
        await linked.locator('#final-table:not([hidden])').waitFor({ timeout: TRAIN_MS });
        await linked.close();
    });

    test('a link with a value the trainer refuses shows why at the top of the settings', async () => {
        const linked = await browser.newPage();
        await linked.goto(`${server.url}?preset=e01&n_hidden=-5&backend=cpu`);
        const error = linked.locator('#settings-error:not([hidden])');
        await error.waitFor();
        const text = await error.textContent();
        assert.match(text, /^config `n_hidden`: invalid type/);
        assert.equal(await linked.isDisabled('#start'), true);
        // Above the form, where it is seen without scrolling.
        assert.ok(await linked.evaluate(() => Boolean(
            document.getElementById('settings-error').compareDocumentPosition(document.getElementById('settings')) & Node.DOCUMENT_POSITION_FOLLOWING,
        )));
        await linked.fill('input[name="n_hidden"]', '32');
        await linked.dispatchEvent('input[name="n_hidden"]', 'change');
        await linked.click('#reset');
        await linked.locator('#start:not([disabled])').waitFor();
        assert.equal(await linked.isHidden('#settings-error'), true);
        await linked.close();
    });

    test('reports a trainer that fails and restarts it', async () => {
        const crashing = await browser.newPage();
        await crashing.route('**/worker.js', (route) => route.abort());
        await crashing.goto(`${server.url}${QUICK}&backend=cpu`);
        await crashing.locator('#crash:not([hidden])').waitFor();
        assert.match(await crashing.textContent('#crash-message'), /^The trainer stopped/);
        assert.equal(await crashing.evaluate(() => document.activeElement.id), 'restart');
        await crashing.unroute('**/worker.js');
        await crashing.click('#restart');
        await crashing.locator('#start:not([disabled])').waitFor();
        assert.equal(await crashing.isHidden('#crash'), true);
        await crashing.close();
    });

    test('kept every request on its origin, under a strict CSP, and logged no errors', async () => {
        const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
        assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
        const outside = requests.filter((url) => !url.startsWith(server.url) && !url.startsWith('blob:') && !url.startsWith('data:'));
        assert.deepEqual(outside, []);
        assert.deepEqual(errors, []);
    });
});
