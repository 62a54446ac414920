// The page loses nothing (issue 13): an E01 run reloaded part-way and resumed
// with the "Resume run from step N" button ends with the train/dev/test losses
// of the same run left alone, on the CPU and on WebGPU (SwiftShader); storage
// that fails (no IndexedDB, or a full quota) gets a plain note while training
// goes on, and keeps the last good checkpoint; the worker never runs work for a
// trainer the page replaced, and never posts a dev evaluation after a stop.
// Needs a built www/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openPage, repo, useServerAndBrowser } from './harness.mjs';

const TIMEOUT = 240_000;
const UNSAVED = 'This browser will not let the page save your run, so a reload will lose it.';

/** The "Loss after training" table, once shown. */
async function finalLosses(page) {
    await page.locator('#final-table:not([hidden])').waitFor({ timeout: TIMEOUT });
    const [train, dev, test] = await Promise.all(['#final-train', '#final-dev', '#final-test'].map((s) => page.textContent(s)));
    return { train, dev, test };
}

/** Waits until the page says it saved the run at a step of at least `step`; resolves to that step. */
async function savedAtLeast(page, step) {
    await page.waitForFunction((s) => Number(document.getElementById('save-status').dataset.step) >= s, step, { timeout: TIMEOUT });
    return Number(await page.getAttribute('#save-status', 'data-step'));
}

/** `browser` whose new contexts run `script` before every page's own scripts (for openPage). */
function withInit(browser, script) {
    return {
        newContext: async (options) => {
            const context = await browser.newContext(options);
            await context.addInitScript(script);
            return context;
        },
    };
}

/** An init script: records every message the trainer worker sends the page, in order. */
function recordWorkerMessages() {
    const Native = window.Worker;
    window.workerMessages = [];
    window.Worker = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', ({ data }) => window.workerMessages.push({
                type: data.type, final: data.final, tag: data.tag, from: data.from, empty: data.bytes === null,
            }));
        }
    };
}

async function reload(page) {
    await page.reload();
    await page.locator('#start:not([disabled])').waitFor({ timeout: 60_000 });
}

describe('a run resumed after a reload', () => {
    const env = useServerAndBrowser();

    // E01 (T=3, E=16, H=256, Adam, batch 256, cosine decay) over fewer steps; on
    // the software GPU also a smaller batch, so the run takes seconds, not minutes.
    for (const [backend, query, checkpoint] of [
        ['cpu', 'preset=e01&steps=4000&eval_every=500&backend=cpu', 1000],
        ['webgpu', 'preset=e01&steps=600&eval_every=100&batch_size=64&backend=webgpu', 200],
    ]) {
        test(`${backend}: ends with the losses of the run left alone`, async () => {
            const { page, errors } = await openPage(env.browser, env.server.url, `?${query}`);
            assert.match(await page.textContent('#backend-name'), backend === 'cpu' ? /^CPU/ : /^WebGPU/);
            await page.click('#start');
            const alone = await finalLosses(page);
            const initial = await page.textContent('#init-loss');

            // The same run again ("Train again": a fresh trainer), reloaded after a checkpoint.
            await page.click('#start');
            await page.locator('#final-table').waitFor({ state: 'hidden' });
            const saved = await savedAtLeast(page, checkpoint);
            await reload(page);
            await page.locator('#resume-banner:not([hidden])').waitFor();
            const offered = Number((await page.textContent('#resume-run')).match(/^Resume run from step ([\d,]+)$/)[1].replace(/,/g, ''));
            assert.ok(offered >= saved, `offered step ${offered}, saved ${saved}`);
            const steps = Number(query.match(/steps=(\d+)/)[1]).toLocaleString('en-US');
            assert.match(await page.textContent('#resume-message'), new RegExp(`^A run from .*\\d\\d:\\d\\d stopped at step ${offered.toLocaleString('en-US')} of ${steps}\\.$`));
            await page.click('#resume-run');
            await page.locator('#resume-banner').waitFor({ state: 'hidden' });
            // The chart's history and the numbers come back before training goes on.
            await page.waitForFunction(() => document.body.dataset.state === 'running' || !document.getElementById('final-table').hidden);
            assert.equal(await page.textContent('#init-loss'), initial);
            const resumed = await finalLosses(page);
            console.log(`${backend}: left alone ${JSON.stringify(alone)}; reloaded at step ${offered}, resumed ${JSON.stringify(resumed)}`);
            assert.deepEqual(resumed, alone);

            // A finished run leaves nothing to resume.
            await reload(page);
            await page.waitForTimeout(500);
            assert.equal(await page.isHidden('#resume-banner'), true, 'a finished run is offered again');
            assert.deepEqual(errors, []);
            await page.close();
        });
    }

    test('after the trainer crashed, the restarted one offers the run', async () => {
        const { page, errors } = await openPage(env.browser, env.server.url, '?preset=e01&steps=100000&eval_every=200&n_hidden=32&backend=cpu');
        await page.click('#start');
        const saved = await savedAtLeast(page, 200);
        // A fatal error from the worker, as a wasm trap reports it: the page ends the worker.
        const [worker] = page.workers();
        await worker.evaluate(() => self.postMessage({ type: 'error', about: 'training', message: 'a test crash', fatal: true }));
        await page.locator('#crash:not([hidden])').waitFor();
        await page.click('#restart');
        await page.locator('#resume-banner:not([hidden])').waitFor({ timeout: 60_000 });
        const offered = Number((await page.textContent('#resume-run')).match(/([\d,]+)$/)[1].replace(/,/g, ''));
        assert.ok(offered >= saved, `offered ${offered}, saved ${saved}`);
        await page.click('#resume-run');
        await page.waitForFunction((s) => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')) > s, offered, { timeout: TIMEOUT });
        assert.equal(await page.evaluate(() => document.body.dataset.state), 'running');
        await page.click('#stop');
        await finalLosses(page);
        assert.deepEqual(errors, []);
        await page.close();
    });

    test('a different word list is refused in plain words', async () => {
        const { page, errors } = await openPage(env.browser, env.server.url, '?preset=e01&steps=100000&eval_every=200&n_hidden=32&backend=cpu');
        await page.click('#start');
        await savedAtLeast(page, 200);
        await reload(page);
        await page.locator('#resume-banner:not([hidden])').waitFor();
        const names = ['emma', 'olivia', 'ava', 'isabella', 'sophia', 'charlotte', 'mia', 'amelia'];
        await page.setInputFiles('#data-file', { name: 'eight.txt', mimeType: 'text/plain', buffer: Buffer.from(names.join('\n')) });
        await page.waitForFunction(() => document.getElementById('data-name').textContent === 'eight.txt');
        await page.click('#resume-run');
        await page.locator('#resume-error:not([hidden])').waitFor();
        assert.equal(await page.textContent('#resume-error'), 'That run trained on another word list (names.txt). Choose that file again under Data, then resume it.');
        assert.equal(await page.evaluate(() => document.body.dataset.state), 'idle');
        await page.click('#resume-discard');
        await page.locator('#save-status[data-cleared=true]').waitFor({ state: 'attached' });
        await reload(page);
        await page.waitForTimeout(500);
        assert.equal(await page.isHidden('#resume-banner'), true, 'a discarded run is offered again');
        assert.deepEqual(errors, []);
        await page.close();
    });
});

describe('a sweep cut short by a reload', () => {
    const env = useServerAndBrowser();

    test('resumes its interrupted run from its checkpoint, not from step 0', async () => {
        const { page, errors } = await openPage(withInit(env.browser, recordWorkerMessages), env.server.url, '?preset=e01&n_hidden=32&eval_every=250&backend=cpu');
        await page.locator('#sweep-form .sweep-key').first().selectOption('n_embd');
        await page.locator('#sweep-form .sweep-values').first().fill('4, 6');
        await page.fill('#sweep-budget', '20000');
        await page.click('#sweep-start');
        const saved = await savedAtLeast(page, 500);
        await reload(page);
        await page.waitForFunction(() => window.workerMessages.some((m) => m.type === 'progress'), null, { timeout: TIMEOUT });
        const from = await page.evaluate(() => window.workerMessages.find((m) => m.type === 'progress').from);
        assert.ok(from >= saved, `the sweep's run went on from step ${from}, its checkpoint was at step ${saved}`);
        assert.equal(await page.isHidden('#resume-banner'), true, 'the page offers the sweep\'s run as its own');
        await page.waitForFunction(() => document.body.dataset.sweep === 'done', null, { timeout: TIMEOUT });
        // Both runs recorded with their whole budget (the table's steps column).
        assert.deepEqual(await page.locator('#runs-body tr td:nth-child(4)').allTextContents(), ['20,000', '20,000']);
        assert.deepEqual(errors, []);
        await page.context().close();
    });
});

describe('storage that fails', () => {
    const env = useServerAndBrowser();
    const QUERY = '?preset=e01&steps=1500&eval_every=250&n_hidden=32&backend=cpu';

    test('no IndexedDB at all: a plain note, and training goes on to the end', async () => {
        // As in a private window that refuses storage: every open fails.
        const browser = withInit(env.browser, () => {
            IDBFactory.prototype.open = function open() {
                const req = {};
                setTimeout(() => {
                    req.error = new DOMException('IndexedDB is not available in this window', 'InvalidStateError');
                    req.onerror?.({ target: req });
                });
                return req;
            };
        });
        const { page, errors } = await openPage(browser, env.server.url, QUERY);
        await page.locator('#save-error:not([hidden])').waitFor();
        assert.match(await page.textContent('#save-error'), new RegExp(`^\\s*${UNSAVED.replace(/\./g, '\\.')}`));
        assert.equal(await page.evaluate(() => document.getElementById('save-error').querySelector('details').open), false, 'details behind a disclosure');
        await page.click('#start');
        const losses = await finalLosses(page);
        assert.ok(Number(losses.dev) > 1.5 && Number(losses.dev) < 3.5, `dev ${losses.dev}`);
        assert.equal(await page.textContent('#save-status'), '');
        assert.deepEqual(errors, []);
        await page.context().close();
    });

    test('a full quota after the first save: a plain note, that checkpoint kept, training goes on', async () => {
        // The first checkpoint fits; every later one is over the quota (counted across the reload).
        const browser = withInit(env.browser, () => {
            const put = IDBObjectStore.prototype.put;
            IDBObjectStore.prototype.put = function quota(...args) {
                if (this.name === 'checkpoints') {
                    const saves = Number(sessionStorage.getItem('checkpoint-puts') ?? 0) + 1;
                    sessionStorage.setItem('checkpoint-puts', String(saves));
                    if (saves > 1) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
                }
                return put.apply(this, args);
            };
        });
        const { page, errors } = await openPage(browser, env.server.url, '?preset=e01&steps=20000&eval_every=250&n_hidden=32&backend=cpu');
        await page.click('#start');
        const first = await savedAtLeast(page, 250);
        await page.locator('#save-error:not([hidden])').waitFor({ timeout: TIMEOUT });
        assert.match(await page.textContent('#save-error-detail'), /quota/);
        assert.equal(await page.evaluate(() => document.body.dataset.state), 'running', 'training goes on');
        await page.waitForFunction((s) => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')) >= s + 500, first, { timeout: TIMEOUT });

        // Reloaded: the checkpoint that was saved is offered, whole, and trains on.
        await reload(page);
        await page.locator('#resume-banner:not([hidden])').waitFor();
        assert.equal(await page.textContent('#resume-run'), `Resume run from step ${first.toLocaleString('en-US')}`);
        await page.click('#resume-run');
        await page.waitForFunction((s) => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')) >= s + 100, first, { timeout: TIMEOUT });
        await page.click('#stop');
        const losses = await finalLosses(page);
        assert.ok(Number(losses.dev) > 1.5 && Number(losses.dev) < 3.5, `dev ${losses.dev}`);
        // The lab's history records the run.
        await page.waitForFunction(() => document.getElementById('runs-body').rows.length === 1, null, { timeout: 60_000 });
        assert.deepEqual(errors, []);
        await page.context().close();
    });
});

describe('the worker protocol', () => {
    const env = useServerAndBrowser();

    test('work for a replaced trainer is dropped, and no dev evaluation follows a stop', async () => {
        const browser = withInit(env.browser, recordWorkerMessages);
        // A dev evaluation after every step and live diagnostics: most of each
        // step's work is queued after its chunk, where a create lands. On WebGPU, as
        // a create awaits the GPU, the loop goes on queueing work for the old trainer.
        const { page, errors } = await openPage(browser, env.server.url, '?preset=e01&n_hidden=32&batch_size=32&steps=1000000&eval_every=1&backend=webgpu');
        const [worker] = page.workers();
        // What fails in the worker without reaching the page: a rejection nobody handled.
        await worker.evaluate(() => {
            self.unhandled = [];
            self.addEventListener('unhandledrejection', (event) => self.unhandled.push(String(event.reason?.message ?? event.reason)));
        });
        const step = () => page.evaluate(() => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')) || 0);
        for (let i = 0; i < 8; i++) {
            await page.click('#start');
            await page.waitForFunction(() => document.body.dataset.state === 'running');
            await page.waitForFunction(() => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')) >= 3);
            // Reset: a create right behind the loop's evaluation, samples and diagnostics.
            await page.click('#reset');
            await page.waitForFunction(() => document.body.dataset.state === 'idle' && document.getElementById('stat-step').textContent.startsWith('0 /'));
        }
        assert.equal(await step(), 0);
        await page.waitForTimeout(500);
        assert.deepEqual(errors, [], 'errors after creates behind running work');
        assert.deepEqual(await worker.evaluate(() => self.unhandled), [], 'failures in the worker');
        assert.equal(await page.isHidden('#run-error'), true, await page.textContent('#run-error'));

        // Requests made for an older generation are dropped; an export answers with no bytes.
        const sent = (type) => page.evaluate((t) => window.workerMessages.filter((m) => m.type === t).length, type);
        const samples = await sent('samples');
        await worker.evaluate(() => self.onmessage({ data: { type: 'sample', gen: 1 } }));
        await worker.evaluate(() => self.onmessage({ data: { type: 'export', tag: 'probe', gen: 1 } }));
        await page.waitForFunction(() => window.workerMessages.some((m) => m.tag === 'probe'));
        assert.equal(await sent('samples'), samples, 'samples drawn for a replaced trainer');
        assert.deepEqual(await page.evaluate(() => window.workerMessages.filter((m) => m.tag === 'probe').map((m) => m.empty)), [true]);

        // Stop while evaluations follow every step, a few times: the final evaluation
        // is the last. A short word list and no diagnostics, so that most of the
        // time goes to training chunks, where a stop lands before the chunk's own evaluation.
        await page.uncheck('#diagnostics-on');
        const names = readFileSync(join(repo, 'data/names.txt'), 'utf8').split('\n').slice(0, 300).join('\n');
        await page.setInputFiles('#data-file', { name: 'names-300.txt', mimeType: 'text/plain', buffer: Buffer.from(names) });
        await page.waitForFunction(() => document.getElementById('data-name').textContent === 'names-300.txt');
        for (let i = 0; i < 5; i++) {
            await page.click('#start'); // Start, then Train again: a fresh run each time
            await page.locator('#final-table').waitFor({ state: 'hidden' });
            await page.waitForFunction(() => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')) >= 20);
            await page.evaluate(() => { window.workerMessages.length = 0; });
            await page.click('#stop');
            await page.locator('#final-table:not([hidden])').waitFor({ timeout: 60_000 });
            await page.waitForTimeout(500);
            const evals = await page.evaluate(() => window.workerMessages.filter((m) => m.type === 'eval').map((m) => (m.final ? 'final' : 'dev')));
            assert.equal(evals.at(-1), 'final', `evaluations after stop ${i + 1}: ${evals.join(' ')}`);
            assert.equal(evals.filter((e) => e === 'final').length, 1);
        }

        assert.equal(await page.isHidden('#run-error'), true, await page.textContent('#run-error'));
        assert.deepEqual(errors, []);
        assert.deepEqual(await worker.evaluate(() => self.unhandled), []);
        await page.context().close();
    });
});
