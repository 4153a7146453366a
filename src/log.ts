/**
 * JSON-lines logging. Callers pass fields explicitly; nothing here inspects requests, so a token
 * or cookie can reach a log line only if some caller puts it there (and none does).
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
export const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];
export type LogFields = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export interface Logger {
  log(level: Level, msg: string, fields?: LogFields): void;
}

export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(l), minLevel: Level = 'info'): Logger {
  const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    log(level, msg, fields = {}) {
      if (order[level] < order[minLevel]) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
    },
  };
}

/** Collects lines in memory; for tests and for `check`. */
export function memoryLogger(): Logger & { lines: { level: Level; msg: string; fields: LogFields }[] } {
  const lines: { level: Level; msg: string; fields: LogFields }[] = [];
  return { lines, log: (level, msg, fields = {}) => void lines.push({ level, msg, fields }) };
}
