// Types for element.js: the <makemore-trainer> custom element.

export interface ProgressDetail { step: number; steps: number; loss: number; stepsPerSec: number }
export interface DoneDetail { step: number; train: number; dev: number; test: number }
export interface ErrorDetail { message: string }
export interface ReadyDetail { backend: 'webgpu' | 'cpu'; reason: string; config: Record<string, unknown> }

export class MakemoreTrainer extends HTMLElement {
    /** starting | idle | running | paused | done | error */
    readonly state: string;
    /** The backend training: 'webgpu' or 'cpu', once known. */
    readonly backend: string | null;
    /** The final losses, once done. */
    readonly losses: DoneDetail | null;
    start(): void;
    pause(): void;
    /** Times both backends on this model again (auto, on a GPU) and rebuilds the model. */
    measureAgain(): void;
    /** The settings object sent to the worker, read from the attributes. */
    config(): Record<string, unknown>;
}

declare global {
    interface HTMLElementTagNameMap { 'makemore-trainer': MakemoreTrainer }
    interface HTMLElementEventMap {
        progress: CustomEvent<ProgressDetail>;
        done: CustomEvent<DoneDetail>;
    }
}
