// A static file server for www/ (or the folder given): 127.0.0.1 only, correct
// MIME types (application/wasm for the module), no caching, nothing outside the root.
// --isolate adds the COOP/COEP headers that make the page cross-origin isolated,
// which the threaded wasm build needs (SharedArrayBuffer).
//
//   node scripts/serve.mjs [--root www] [--port 8000] [--isolate]
//
// Prints `serving http://127.0.0.1:PORT/` once listening (port 0 picks a free one).

import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string', default: 'www' }, port: { type: 'string', default: '8000' }, isolate: { type: 'boolean', default: false } } });
const ISOLATION = values.isolate ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
const root = resolve(values.root);

const TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.json': 'application/json',
    '.wasm': 'application/wasm',
    '.txt': 'text/plain; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.ts': 'text/plain; charset=utf-8',
};

function fileFor(url) {
    const path = decodeURIComponent(new URL(url, 'http://x').pathname);
    const file = resolve(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== root && !file.startsWith(root + sep)) return null;
    try {
        return statSync(file).isFile() ? file : null;
    } catch {
        return null;
    }
}

const server = createServer((req, res) => {
    const file = req.method === 'GET' || req.method === 'HEAD' ? fileFor(req.url) : null;
    if (!file) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
        return;
    }
    res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
        ...ISOLATION,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
});

server.listen(Number(values.port), '127.0.0.1', () => {
    console.log(`serving http://127.0.0.1:${server.address().port}/ from ${root}${values.isolate ? ' (cross-origin isolated)' : ''}`);
});
