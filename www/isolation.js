// The page's opt-in to threads on a static host: where the server sends no
// COOP/COEP headers the page is not cross-origin isolated and trains on one
// thread. With the option on, the page registers coi-sw.js, a service worker
// that adds those headers to this origin's responses, and reloads once; from
// then on it trains on every core. The choice is kept in localStorage; turning
// it off unregisters the worker and reloads. The <makemore-trainer> element never
// does this on its own (a page that embeds it decides for itself).

const KEY = 'makemore-isolation-sw';
const SCRIPT = 'coi-sw.js';
const RELOADED = 'makemore-isolation-reloaded';

function stored() {
    try {
        return localStorage.getItem(KEY) === 'on';
    } catch {
        return false;
    }
}

function store(on) {
    try {
        if (on) localStorage.setItem(KEY, 'on');
        else localStorage.removeItem(KEY);
    } catch { /* storage refused: the choice lasts for this visit only */ }
}

const ours = (reg) => [reg.active, reg.waiting, reg.installing].some((w) => w?.scriptURL.endsWith(`/${SCRIPT}`));

/** Whether this page is cross-origin isolated through our service worker. */
export function isolatedByServiceWorker() {
    return self.crossOriginIsolated && Boolean(navigator.serviceWorker?.controller?.scriptURL.endsWith(`/${SCRIPT}`));
}

/** Whether the option can do anything here: a browser with service workers, on a page that is not isolated already. */
export function offered() {
    return 'serviceWorker' in navigator && self.isSecureContext && (!self.crossOriginIsolated || isolatedByServiceWorker());
}

/**
 * At start: with the option on, makes sure the worker is registered and the page
 * is isolated, reloading once (never in a loop) when it is not yet.
 */
export async function resume() {
    if (!stored() || !('serviceWorker' in navigator)) return;
    try {
        await navigator.serviceWorker.register(SCRIPT);
        await navigator.serviceWorker.ready;
    } catch (err) {
        console.warn(`the service worker for threads did not start: ${err?.message ?? err}`);
        return;
    }
    if (self.crossOriginIsolated) {
        sessionStorage.removeItem(RELOADED);
    } else if (!sessionStorage.getItem(RELOADED)) {
        sessionStorage.setItem(RELOADED, '1');
        location.reload();
    }
}

/** Turns the option on (register, reload) or off (unregister, reload). */
export async function choose(on) {
    store(on);
    sessionStorage.removeItem(RELOADED);
    if (on) {
        await resume();
        return;
    }
    const regs = await navigator.serviceWorker.getRegistrations();
    await Promise.all(regs.filter(ours).map((reg) => reg.unregister()));
    location.reload();
}

/** Wires the settings' checkbox `box` and its block `block` (shown where the option applies). */
export function wire(box, block) {
    block.hidden = !offered();
    box.checked = stored();
    box.addEventListener('change', () => {
        box.disabled = true;
        choose(box.checked).catch((err) => {
            box.disabled = false;
            console.warn(`could not change the threads option: ${err?.message ?? err}`);
        });
    });
}
