// One source for the limits: the settings form's min/max come from the wasm
// build's constants() (src/web/constants.rs), not from index.html, and a value
// over a limit is refused by Rust with the same bound. Needs a built www/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { openPage, useServerAndBrowser } from './harness.mjs';

const pkg = await import('../www/pkg/makemore.js');
pkg.initSync({ module: readFileSync(new URL('../www/pkg/makemore_bg.wasm', import.meta.url)) });
const { limits } = pkg.constants();

describe('the limits come from Rust', () => {
    const env = useServerAndBrowser();

    test("the form's min and max are constants().limits", async () => {
        const html = readFileSync(new URL('../www/index.html', import.meta.url), 'utf8');
        assert.doesNotMatch(html, /name="(block_size|n_embd|n_hidden)"[^>]*\bmax=/, 'index.html still hard-codes a max');
        const { page, errors } = await openPage(env.browser, env.server.url);
        await page.waitForFunction(() => document.querySelector('input[name=n_hidden]').max !== '', null, { timeout: 30_000 });
        for (const key of ['block_size', 'n_embd', 'n_hidden', 'batch_size']) {
            const { min, max } = await page.$eval(`input[name=${key}]`, (el) => ({ min: el.min, max: el.max }));
            assert.equal(Number(min), limits[key].min, `${key} min`);
            assert.equal(Number(max), limits[key].max, `${key} max`);
        }
        // Rust refuses one over the limit, naming the field and the same bound.
        const over = limits.n_hidden.max + 1;
        await page.fill('input[name=n_hidden]', String(over));
        await page.dispatchEvent('#settings', 'change');
        await page.click('#reset');
        await page.locator('#settings-error:not([hidden])').waitFor({ timeout: 30_000 });
        const message = await page.textContent('#settings-error');
        assert.match(message, new RegExp(`n_hidden.*${over}.*1\\.\\.=${limits.n_hidden.max}`), message);
        assert.deepEqual(errors, []);
    });
});
