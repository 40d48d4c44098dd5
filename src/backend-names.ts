// The backends' names alone, so the CLI can offer them without loading TensorFlow.js.
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
