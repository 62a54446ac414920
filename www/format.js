// How the page and the element write numbers: one module, so a loss reads the
// same in the trainer, the lab, the E02 view and the element.

/** A loss to 4 decimals, or a dash when there is none. */
export const loss = (x) => (Number.isFinite(x) ? x.toFixed(4) : '–');

/** A whole number with thousands separators: 182,625. */
export const count = (n) => n.toLocaleString('en-US');

/** A rate in k or M: "1.10 M", "33.4 k", "67". */
export function rate(n) {
    if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
    if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
    return n.toFixed(0);
}

/** A measured time: "850 ms", "12.3 s", "4 min 7 s". */
export function duration(ms) {
    const s = ms / 1000;
    if (s < 1) return `${Math.round(ms)} ms`;
    return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** An estimate in plain words: "under a minute", "about 4 min", "about 2.5 h". */
export function about(seconds) {
    if (!Number.isFinite(seconds)) return 'an unknown time';
    if (seconds < 60) return 'under a minute';
    if (seconds < 90 * 60) return `about ${Math.round(seconds / 60)} min`;
    return `about ${(seconds / 3600).toFixed(1)} h`;
}
