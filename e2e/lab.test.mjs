// The learning lab in the page, on the CPU path: a 4-run sweep fills the run
// history and highlights the best run; the history and the sweep's pick survive
// a reload; a sweep pauses and resumes, and one cut short by a reload goes on
// from its next run; a run can be reopened; the inspector shows per-character
// bars for "emma" whose NLL is the one `makemore inspect` reports for the same
// weights; prefix sampling completes the prefix; the history goes out as JSON,
// is cleared and comes back. Saves e2e/screenshots/lab.png. Needs the page built
// (scripts/build-web.sh) and the native CLI (cargo build --release; the test
// command builds it with the native tests).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, before } from 'node:test';
import { downloads, openPage, repo, screenshots, useServerAndBrowser } from './harness.mjs';

const SMALL = '?preset=e01&backend=cpu&n_embd=4&n_hidden=16&batch_size=32&lr=0.02';
const SWEEP_MS = 240_000;
const CLI = join(repo, 'target/release/makemore');

const env = useServerAndBrowser();

describe('the learning lab', () => {
    let page;
    let errors;

    before(async () => {
        ({ page, errors } = await openPage(env.browser, env.server.url, SMALL));
    });

    async function startSweep(dims, budget) {
        const keys = page.locator('#sweep-form .sweep-key');
        const values = page.locator('#sweep-form .sweep-values');
        for (let i = 0; i < 3; i++) {
            await keys.nth(i).selectOption(dims[i]?.[0] ?? '');
            await values.nth(i).fill(dims[i]?.[1] ?? '');
        }
        await page.selectOption('#sweep-mode', 'grid');
        await page.fill('#sweep-budget', String(budget));
        await page.click('#sweep-start');
    }

    const rows = () => page.locator('#runs-body tr');

    /** The table's dev losses and the best row's, read from the page. */
    async function table() {
        return page.evaluate(() => {
            const all = [...document.querySelectorAll('#runs-body tr')];
            const best = all.filter((tr) => tr.classList.contains('best'));
            return {
                devs: all.map((tr) => Number(tr.querySelector('.dev').textContent)),
                tests: all.map((tr) => tr.querySelector('.test').textContent),
                best: best.map((tr) => ({ dev: Number(tr.querySelector('.dev').textContent), test: tr.querySelector('.test').textContent, id: tr.dataset.id })),
            };
        });
    }

    function checkBest(t) {
        assert.equal(t.best.length, 1, 'one best row');
        assert.equal(t.best[0].dev, Math.min(...t.devs));
        assert.match(t.best[0].test, /^\d\.\d{4}$/, 'the winner shows its test loss');
        assert.equal(t.tests.filter((x) => x === 'hidden').length, t.devs.length - 1, 'the others hide theirs');
    }

    test('a 4-run sweep fills the table and highlights the best run', async () => {
        await startSweep([['n_hidden', '8, 16'], ['lr', '0.01, 0.05']], 60);
        await page.waitForFunction(() => /Run \d of 4/.test(document.getElementById('sweep-progress').textContent));
        await page.waitForFunction(() => document.body.dataset.sweep === 'done', null, { timeout: SWEEP_MS });
        assert.equal(await rows().count(), 4);
        const t = await table();
        assert.ok(t.devs.every((d) => d > 1.5 && d < 4), `dev losses ${t.devs}`);
        checkBest(t);
        assert.match(await page.textContent('#sweep-progress'), /Done: 4 runs of 60 steps/);
        assert.match(await page.textContent('#sweep-best'), /^Best: H=\d+ lr=[\d.]+ with dev \d\.\d{4}; its test loss \d\.\d{4}/);
        // Sorted by dev, the best comes first.
        await page.click('#runs-table [data-sort="dev"]');
        assert.equal(await page.getAttribute('#runs-body tr:first-child', 'class'), 'best');
        assert.ok((await page.locator('#overlay .uplot').count()) === 1, 'the overlay chart is drawn');
    });

    test('the history and the best pick survive a reload', async () => {
        const before = await table();
        await page.reload();
        await page.locator('#start:not([disabled])').waitFor({ timeout: 60_000 });
        await page.waitForFunction(() => document.querySelectorAll('#runs-body tr').length === 4);
        const after = await table();
        assert.deepEqual(after.best, before.best);
        checkBest(after);
        assert.match(await page.textContent('#sweep-best'), /^Best: /);
        assert.match(await page.textContent('#sweep-progress'), /Done: 4 runs/);
    });

    test('a sweep cut short by a reload goes on from its next run', async () => {
        // Runs long enough (seconds each on the CPU) that the pause lands mid-sweep.
        await startSweep([['n_embd', '2, 3, 5']], 20_000);
        await page.waitForFunction(() => document.querySelectorAll('#runs-body tr').length === 1, null, { timeout: SWEEP_MS });
        await page.click('#sweep-pause');
        await page.waitForFunction(() => document.body.dataset.sweep === 'paused' && document.body.dataset.state !== 'running');
        assert.match(await page.textContent('#sweep-progress'), /Paused after [12] of 3 runs/);
        assert.equal(await page.textContent('#sweep-pause'), 'Resume sweep');
        await page.click('#sweep-pause');
        await page.waitForFunction(() => document.body.dataset.sweep === 'running');
        await page.reload();
        await page.locator('#start:not([disabled])').waitFor({ timeout: 60_000 });
        await page.waitForFunction(() => document.body.dataset.sweep === 'done', null, { timeout: SWEEP_MS });
        await page.selectOption('#runs-filter', { label: 'Sweep 2 (n_embd)' });
        assert.equal(await rows().count(), 3);
        const index = await page.locator('#runs-body .tag').allTextContents();
        assert.deepEqual(index.map((s) => s.trim()).sort(), ['sweep 2 · 1/3', 'sweep 2 · 2/3', 'sweep 2 · 3/3']);
        checkBest(await table());
        await page.selectOption('#runs-filter', 'all');
        assert.equal(await rows().count(), 7);
    });

    test('the inspector shows bars for "emma" with the NLL that makemore reports', async () => {
        assert.ok(existsSync(CLI), `${CLI} is missing: run cargo build --release first`);
        await page.selectOption('#runs-filter', '1');
        await page.click('#runs-body tr.best button:text("Reopen")');
        await page.waitForFunction(() => /Loaded weights saved at step 60/.test(document.getElementById('weights-message').textContent));
        await page.fill('#inspect-word', 'emma');
        await page.click('#inspect-form button[type="submit"]');
        await page.waitForFunction(() => document.querySelectorAll('#inspect-rows tr').length === 5);
        const bars = await page.$$eval('#inspect-rows .bar', (els) => els.map((e) => parseFloat(e.style.width)));
        assert.equal(bars.length, 5);
        assert.ok(bars.every((w) => w > 0 && w <= 100), `bar widths ${bars}`);
        const alternatives = await page.locator('#inspect-rows tr:first-child .alt').count();
        assert.equal(alternatives, 5);
        const nll = Number(await page.getAttribute('#inspect-summary', 'data-nll'));
        assert.match(await page.textContent('#inspect-summary'), /NLL \d+\.\d{4} nats .*dev average of \d\.\d{4}.*(In|Not in) the training set/);

        const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
        const file = join(downloads, 'lab-best.safetensors');
        await download.saveAs(file);
        const out = JSON.parse(execFileSync(CLI, ['inspect', '--model', file, '--word', 'emma', '--json'], { encoding: 'utf8' }));
        console.log(`inspector NLL of "emma": page ${nll}, makemore inspect ${out.inspection.nll}`);
        assert.ok(Math.abs(nll - out.inspection.nll) < 1e-4, `page ${nll}, CLI ${out.inspection.nll}`);
        assert.equal(String(out.inspection.inTrain), await page.getAttribute('#inspect-summary', 'data-in-train'));

        await page.fill('#inspect-word', 'em3ma');
        await page.click('#inspect-form button[type="submit"]');
        await page.locator('#inspect-error:not([hidden])').waitFor();
        assert.match(await page.textContent('#inspect-error'), /"3".*use only those/);
    });

    test('prefix sampling completes the prefix, and a bad prefix gets a message', async () => {
        await page.fill('#sample-prefix', 'ja');
        await page.press('#sample-prefix', 'Enter'); // commits it: a change event, and none on blur
        await page.check('#sample-hide');
        await page.waitForFunction(() => {
            const names = [...document.querySelectorAll('#samples li')].map((li) => li.textContent);
            return names.length > 0 && names.every((n) => n.startsWith('ja'));
        });
        const names = await page.locator('#samples li').allTextContents();
        assert.ok(names.every((n) => n.startsWith('ja')), names.join(' '));
        await page.screenshot({ path: join(screenshots, 'lab.png'), fullPage: true });
        await page.fill('#sample-prefix', 'J');
        await page.press('#sample-prefix', 'Enter'); // commits it: a change event, and none on blur
        await page.locator('#samples-error:not([hidden])').waitFor();
        assert.match(await page.textContent('#samples-error'), /prefix.*"J".*dropped/);
    });

    test('the history is exported, cleared and imported again', async () => {
        await page.selectOption('#runs-filter', 'all');
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('#history-export')]);
        const file = join(downloads, 'makemore-history.json');
        await download.saveAs(file);
        await page.click('#history-clear');
        await page.click('#history-clear');
        await page.waitForFunction(() => document.querySelectorAll('#runs-body tr').length === 0);
        assert.equal(await page.isVisible('#runs-empty'), true);
        await page.setInputFiles('#history-import', file);
        await page.waitForFunction(() => document.querySelectorAll('#runs-body tr').length === 7);
        assert.match(await page.textContent('#history-message'), /Imported 7 runs/);
        checkBest(await table());
        assert.equal(await page.locator('#runs-body tr.best button:text("Reopen")').isEnabled(), true, 'weights came back');
        await page.setInputFiles('#history-import', { name: 'junk.json', mimeType: 'application/json', buffer: Buffer.from('{"runs": 3}') });
        await page.waitForFunction(() => /could not import junk.json: the file is not a makemore history/.test(document.getElementById('history-message').textContent));
        assert.deepEqual(errors, []);
    });
});
