// The npm package: packs pkg/ (built by scripts/build-package.sh) with `npm pack`,
// installs the tarball into a scratch folder, and loads it in Chromium from a
// plain static page: `import init, { Trainer } from 'makemore-wasm'` through an
// import map trains a few steps, and the two-line <makemore-trainer> embed trains.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, repo } from './harness.mjs';

const pkgDir = join(repo, 'pkg');
let scratch;
let server;
let browser;

function serveFolder(root) {
    const child = spawn(process.execPath, [join(repo, 'scripts/serve.mjs'), '--root', root, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
        child.on('error', reject);
        child.stdout.setEncoding('utf8').on('data', (line) => {
            const match = line.match(/serving (http:\S+)/);
            if (match) resolve({ url: match[1], close: () => child.kill() });
        });
    });
}

before(async () => {
    assert.ok(existsSync(join(pkgDir, 'package.json')), 'pkg/ is not built: run scripts/build-package.sh');
    scratch = mkdtempSync(join(tmpdir(), 'makemore-pkg-'));
    const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const tarball = npm(['pack', '--silent', '--pack-destination', scratch], pkgDir).trim().split('\n').pop();
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', version: '0.0.0', private: true }));
    npm(['install', '--offline', '--no-audit', '--no-fund', join(scratch, tarball)], scratch);
    writeFileSync(join(scratch, 'index.html'), `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "makemore-wasm": "/node_modules/makemore-wasm/makemore.js" } }</script>
<script type="module" src="/node_modules/makemore-wasm/element.js"></script>
<makemore-trainer id="t" preset="e01" backend="cpu" steps="200" autostart compact></makemore-trainer>
`);
    server = await serveFolder(scratch);
    browser = await launch();
});

after(async () => {
    await browser?.close();
    server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the installed package has types, a README with the embed, and a version', () => {
    const root = join(scratch, 'node_modules/makemore-wasm');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    assert.match(pkg.version, /^\d+\.\d+\.\d+/);
    assert.equal(pkg.types, 'makemore.d.ts');
    for (const file of ['makemore.js', 'makemore.d.ts', 'makemore_bg.wasm', 'relaxed/makemore.js', 'relaxed/makemore_bg.wasm', 'element.js', 'element.d.ts', 'worker.js', 'wasm.js', 'chart.js', 'data/names.txt', 'vendor/uplot/uPlot.esm.js']) {
        assert.ok(existsSync(join(root, file)), `${file} is missing from the package`);
    }
    assert.match(readFileSync(join(root, 'makemore.d.ts'), 'utf8'), /export class Trainer/);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    assert.match(readme, /<script type="module" src="[^"]*element\.js"><\/script>\n<makemore-trainer/);
    assert.match(readme, /import init, \{ Trainer[^}]*\} from 'makemore-wasm'/);
    assert.match(readFileSync(join(root, 'wasm.js'), 'utf8'), /import\('\.\/makemore\.js'\)/);
});

test('a static page imports the installed package and its element trains', async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    await page.addInitScript(() => {
        window.__done = null;
        document.addEventListener('done', (e) => { window.__done = e.detail; });
        document.addEventListener('error', (e) => { if (e.target.localName === 'makemore-trainer') window.__done = { error: e.detail.message }; });
    });
    await page.goto(`${server.url}index.html`);
    const api = await page.evaluate(async () => {
        const { default: init, Trainer } = await import('makemore-wasm');
        await init();
        const text = new TextEncoder().encode('emma\nolivia\nava\nisabella\nsophia\nmia\namelia\nharper\nevelyn\nabigail\n'.repeat(20));
        const t = await Trainer.create(text, { preset: 'e01', backend: 'cpu', steps: 20, batch_size: 32 });
        while (!t.done()) await t.train(10);
        const losses = await t.evaluate();
        const out = { backend: t.backend(), step: t.step(), dev: losses.dev, names: await t.sample(3, 1) };
        t.free();
        return out;
    });
    assert.equal(api.backend, 'cpu');
    assert.equal(api.step, 20);
    assert.ok(Number.isFinite(api.dev));
    assert.equal(api.names.length, 3);
    await page.waitForFunction(() => window.__done, null, { timeout: 60_000 });
    const done = await page.evaluate(() => window.__done);
    assert.equal(done.error, undefined, done.error);
    assert.equal(done.step, 200);
    console.log('package: API', JSON.stringify(api), 'element done', JSON.stringify(done));
    assert.deepEqual(errors, []);
});
