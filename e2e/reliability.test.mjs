// The page when things go wrong: a diverging run and the reset to its last good
// checkpoint, a WebGPU device lost mid-run (the page goes on on the CPU), and
// every bad word list of the reliability list. Needs a built www/.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPage, screenshots, useServerAndBrowser } from './harness.mjs';

const SMALL = 'preset=e01&n_embd=8&n_hidden=32&batch_size=32';
const TIMEOUT = 120_000;

const stepOf = async (page) => Number((await page.textContent('#stat-step')).split('/')[0].replace(/,/g, ''));

/** Sends a message to the trainer worker as if the page had (for test hooks). */
async function tellWorker(page, msg) {
    const [worker] = page.workers();
    await worker.evaluate((m) => self.onmessage({ data: m }), msg);
}

describe('divergence and device loss', () => {
    const env = useServerAndBrowser();

    test('lr = 100 diverges within one eval interval; the page offers the last good checkpoint and trains on', async () => {
        const { page, errors } = await openPage(env.browser, env.server.url, `?${SMALL}&lr=100&lr_decay=none&steps=5000&eval_every=200&backend=cpu`);
        await page.click('#start');
        await page.locator('#diverged:not([hidden])').waitFor({ timeout: TIMEOUT });
        const message = await page.textContent('#diverged-message');
        assert.match(message, /^training diverged at step (\d+): the loss became .*lower the learning rate/);
        const at = Number(message.match(/step (\d+)/)[1]);
        assert.ok(at < 200, `diverged at step ${at}, after the first eval interval`);
        assert.equal(await page.textContent('#restore'), 'Reset to last good checkpoint (step 0)');
        assert.equal(await page.inputValue('#restore-lr'), '10', 'suggests a 10× smaller rate');
        assert.equal(await page.textContent('#start'), 'Resume');
        await page.screenshot({ path: join(screenshots, 'diverged.png'), fullPage: true });

        await page.fill('#restore-lr', '0.01');
        await page.click('#restore');
        await page.locator('#diverged').waitFor({ state: 'hidden' });
        assert.equal(await stepOf(page), 0);
        assert.equal(await page.inputValue('input[name="lr"]'), '0.01');
        assert.match(page.url(), /[?&]lr=0.01(&|$)/);
        await page.click('#start');
        await page.waitForFunction(() => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')) >= 600, null, { timeout: TIMEOUT });
        assert.equal(await page.isHidden('#diverged'), true, 'diverged again at lr 0.01');
        assert.ok(parseFloat(await page.textContent('#stat-loss')) < 3.0, 'the loss falls after the reset');
        assert.deepEqual(errors, []);
        await page.close();
    });

    test('a blow-up after an evaluation goes back to that checkpoint, not to the start', async () => {
        // lr 0.003 until step 250, then ×30000 = 90; dev evaluations every 100 steps.
        const { page } = await openPage(env.browser, env.server.url, `?${SMALL}&lr=0.003&lr_decay=250:30000&steps=5000&eval_every=100&backend=cpu`);
        await page.click('#start');
        await page.locator('#diverged:not([hidden])').waitFor({ timeout: TIMEOUT });
        const at = Number((await page.textContent('#diverged-message')).match(/step (\d+)/)[1]);
        assert.ok(at >= 250 && at < 350, `diverged at step ${at}: the rate rose at 250, evaluations every 100`);
        const checkpoint = Number((await page.textContent('#restore')).match(/step ([\d,]+)/)[1].replace(/,/g, ''));
        assert.ok(checkpoint >= 100 && checkpoint <= at, `checkpoint at ${checkpoint}`);
        await page.click('#restore');
        await page.locator('#diverged').waitFor({ state: 'hidden' });
        assert.equal(await stepOf(page), checkpoint);
        await page.close();
    });

    test('a WebGPU device lost mid-run: the page goes on on the CPU from the last checkpoint and says why', async () => {
        const { page, errors } = await openPage(env.browser, env.server.url, `?${SMALL}&lr=0.01&steps=100000&eval_every=100&backend=webgpu`);
        assert.match(await page.textContent('#backend-badge'), /^\s*WebGPU/);
        await page.click('#start');
        await page.waitForFunction(() => parseFloat(document.getElementById('stat-dev').textContent) > 0, null, { timeout: TIMEOUT });
        await tellWorker(page, { type: 'lose-device' });
        await page.waitForFunction(() => document.getElementById('backend-name').textContent === 'CPU', null, { timeout: TIMEOUT });
        // Plain words in the badge; the driver's words and the checkpoint's step behind the details.
        assert.equal(await page.textContent('#backend-reason'), 'WebGPU stopped working, so training went on on your CPU from the last checkpoint.');
        assert.equal(await page.evaluate(() => document.getElementById('backend-details').open), false);
        const reason = await page.textContent('#backend-detail-lines');
        const said = /^WebGPU stopped working: the GPU device was lost \(.*\)\. Training went on on the CPU from the checkpoint at step (\d+)\./;
        assert.match(reason, said);
        const checkpoint = Number(reason.match(said)[1]);
        assert.ok(checkpoint >= 100, `checkpoint at ${checkpoint}`);
        await page.waitForFunction((c) => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')) > c + 200, checkpoint, { timeout: TIMEOUT });
        assert.equal(await page.evaluate(() => document.body.dataset.state), 'running');
        assert.equal(await page.isHidden('#run-error'), true);
        await page.screenshot({ path: join(screenshots, 'device-lost.png'), fullPage: true });
        assert.deepEqual(errors, []);
        await page.close();
    });
});

const TEN_NAMES = ['emma', 'olivia', 'ava', 'isabella', 'sophia', 'charlotte', 'mia', 'amelia', 'harper', 'evelyn'];

/** Text as Windows saves "Unicode": UTF-16LE with a byte-order mark. */
const utf16 = (text) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);

describe('bad word lists in the page', () => {
    const env = useServerAndBrowser();

    test('each gets a message naming the problem, or trains', async () => {
        const { page, errors } = await openPage(env.browser, env.server.url, `?${SMALL}&lr=0.01&steps=30&eval_every=0&backend=cpu`);
        const dir = mkdtempSync(join(tmpdir(), 'makemore-lists-'));
        try {
            // Over Playwright's 50 MB limit for in-memory files: written to disk.
            const big = join(dir, 'big.txt');
            writeFileSync(big, Buffer.alloc(50 << 20, `${TEN_NAMES.join('\n')}\n`));
            const refused = [
                ['empty.txt', Buffer.alloc(0), /^word list: .*no words/],
                ['program.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256)), /^word list: .*not UTF-8 text/],
                ['windows.txt', utf16(TEN_NAMES.join('\r\n')), /^word list: .*UTF-16/],
                ['one.txt', Buffer.from('emma\n'), /^word list: .*use at least 6 words/],
                [big, null, /^word list: .*50\.0 MiB/],
            ];
            for (const [name, buffer, want] of refused) {
                await page.setInputFiles('#data-file', buffer ? { name, mimeType: 'text/plain', buffer } : name);
                await page.waitForFunction(
                    (re) => new RegExp(re).test(document.getElementById('data-error').textContent),
                    want.source,
                    { timeout: 60_000 },
                );
                assert.equal(await page.isVisible('#data-error'), true, name);
                assert.equal(await page.textContent('#data-name'), 'names.txt', `${name} replaced the data`);
            }

            const alphabet = 'abcdefghijklmnopqrstuvwxyz';
            const long = Array.from({ length: 6 }, (_, i) => alphabet.slice(i).repeat(60));
            const unicode = ['José', 'Zoë', 'Ñuño', 'María', 'Renée', 'Søren', 'Анна', 'Иван', 'Ольга', 'Дмитрий', '王芳', '李娜', '張偉', 'さくら'];
            const trains = [
                ['long-words.txt', [...long, ...TEN_NAMES], /^\.abc/],
                ['unicode.txt', unicode, /é.*ñ.*Д.*王/],
            ];
            for (const [name, words, vocab] of trains) {
                await page.setInputFiles('#data-file', { name, mimeType: 'text/plain', buffer: Buffer.from(words.join('\n')) });
                await page.waitForFunction((n) => document.getElementById('data-name').textContent === n, name);
                assert.equal(await page.isHidden('#data-error'), true, name);
                assert.equal(await page.textContent('#stat-words'), String(words.length));
                assert.match(await page.textContent('#stat-vocab'), vocab);
                await page.click('#start');
                await page.locator('#final-table:not([hidden])').waitFor({ timeout: 60_000 });
                assert.ok(Number.isFinite(parseFloat(await page.textContent('#final-dev'))), `${name}: dev loss`);
                assert.ok((await page.locator('#samples li').count()) > 0, `${name}: samples`);
            }
            assert.ok((await page.locator('#samples li').allTextContents()).some((w) => /[^\x00-\x7f]/.test(w)), 'no Unicode samples');
            await page.screenshot({ path: join(screenshots, 'unicode-names.png'), fullPage: true });
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
        assert.deepEqual(errors, []);
        await page.close();
    });
});
