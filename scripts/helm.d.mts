export function ensureHelm(): string | undefined;
