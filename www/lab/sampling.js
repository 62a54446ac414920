// The sampling controls next to the samples: how many names, a prefix to
// complete, and whether to hide names of the training set. The temperature
// slider (main.js) sends its own value; the worker keeps each option until it
// changes. Says so when hiding known names left fewer than asked for.

export class Sampling {
    constructor({ count, prefix, hide, temperature, note, error, send }) {
        this.note = note;
        this.error = error;
        const update = () => {
            this.error.hidden = true;
            send({
                type: 'sample',
                count: Math.min(200, Math.max(1, Math.round(Number(count.value) || 20))),
                prefix: prefix.value.trim(),
                hideExisting: hide.checked,
                temperature: Number(temperature.value),
            });
        };
        count.addEventListener('change', update);
        prefix.addEventListener('change', update);
        hide.addEventListener('change', update);
    }

    /** After each `samples` message. */
    show({ names, count, attempts }) {
        this.note.hidden = names.length >= count;
        this.note.textContent = `Only ${names.length} of ${count} names are new after ${attempts} draws: the model mostly repeats names it was trained on.`;
    }

    showError(message) {
        this.error.textContent = `${message}. The prefix was dropped.`;
        this.error.hidden = false;
    }
}
