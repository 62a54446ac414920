// A service worker that makes the page cross-origin isolated on a host that does
// not send the headers itself (a plain static host such as GitHub Pages or
// `python3 -m http.server`). It adds COOP/COEP (and CORP) to every response of
// this origin, which is what lets the page share memory with its Web Workers and
// so train on every core (the threaded wasm build). Other origins' responses
// pass untouched. The page registers it only when asked to (the settings'
// threads option, www/isolation.js), never on its own, and the element never does.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
    const request = event.request;
    if (new URL(request.url).origin !== self.location.origin) return;
    // A request the browser may only answer from its cache cannot be fetched again here.
    if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
    event.respondWith(fetch(request).then((response) => {
        if (response.status === 0) return response; // opaque: nothing to add to
        const headers = new Headers(response.headers);
        headers.set('Cross-Origin-Opener-Policy', 'same-origin');
        headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
        headers.set('Cross-Origin-Resource-Policy', 'same-origin');
        return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }));
});
