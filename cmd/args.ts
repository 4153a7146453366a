import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Thrown for a wrong command line; the entry point prints it with `usage` (else the overview) and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

/** One flag of a command, with the words its --help prints. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly default?: string | boolean;
  readonly multiple?: boolean;
  /** How the value is written in the usage, e.g. FILE or SECONDS. */
  readonly value?: string;
  readonly help: string;
  /** An environment variable read when the flag is not given. */
  readonly env?: string;
}

/** A command's command line: what `airy-auth COMMAND --help` prints, and what parseCommand accepts. */
export interface CommandSpec {
  readonly name: string;
  /** The arguments after the flags, e.g. `FILE`; none when undefined. */
  readonly positionals?: string;
  readonly summary: string;
  readonly flags: Record<string, FlagSpec>;
}

export function usageOf(spec: CommandSpec): string {
  const lines = [`usage: airy-auth ${spec.name}${spec.positionals ? ` ${spec.positionals}` : ''} [flags]`, '', spec.summary, '', 'flags:'];
  const names = Object.entries(spec.flags).map(([name, f]) => `--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`);
  const width = Math.max(...names.map((n) => n.length), '--help'.length) + 2;
  Object.values(spec.flags).forEach((f, i) => {
    const extra = [f.default !== undefined && f.default !== false ? `default ${f.default}` : '', f.env ? `env ${f.env}` : '', f.multiple ? 'repeatable' : '']
      .filter(Boolean)
      .join('; ');
    lines.push(`  ${names[i]!.padEnd(width)}${f.help}${extra ? ` (${extra})` : ''}`);
  });
  lines.push(`  ${'--help'.padEnd(width)}print this help and exit`);
  return `${lines.join('\n')}\n`;
}

type Parsed = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

/**
 * Parses a command's flags strictly. `--help` anywhere answers 'help' (the caller prints the
 * usage and exits 0); an unknown or malformed flag is a UsageError carrying this command's usage.
 * Flags with `env` fall back to that variable of `env`.
 */
export function parseCommand(argv: string[], spec: CommandSpec, env: NodeJS.ProcessEnv = process.env): Parsed | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.default !== undefined ? { default: f.default as string } : {}) };
  }
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: spec.positionals !== undefined, strict: true }) as Parsed;
  } catch (err) {
    throw new UsageError(withSuggestion(err, Object.keys(spec.flags)), usageOf(spec));
  }
  for (const [name, f] of Object.entries(spec.flags)) {
    if (f.env && !flagGiven(argv, name) && env[f.env] !== undefined && env[f.env] !== '') {
      parsed.values[name] = env[f.env];
    }
  }
  return parsed;
}

/** Whether `--name` was on the command line (a default fills the value either way). */
export function flagGiven(argv: readonly string[], name: string): boolean {
  return argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
}

/** parseArgs' message, and for an unknown flag the nearest known one: a typo should cost one glance. */
function withSuggestion(err: unknown, flags: readonly string[]): string {
  const message = err instanceof Error ? err.message : String(err);
  if ((err as { code?: string }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return message;
  const typed = /^Unknown option '(-{1,2}[^'=]*)/.exec(message)?.[1];
  const suggestion = typed === undefined ? undefined : nearestFlag(typed.replace(/^-+/, ''), [...flags, 'help']);
  return suggestion === undefined ? message : `Unknown option '${typed}'; did you mean --${suggestion}?`;
}

/**
 * The known flag closest to `typed`: one it is the beginning of, or the one
 * within a few edits (a third of the length, at most 3); undefined when nothing is close.
 */
export function nearestFlag(typed: string, flags: readonly string[]): string | undefined {
  const word = typed.toLowerCase();
  if (word.length === 0) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const flag of flags) {
    const d = word.length >= 3 && flag.startsWith(word) ? 0.5 : editDistance(word, flag);
    if (d < bestDistance) {
      best = flag;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.min(3, Math.max(1, Math.floor(word.length / 3))) ? best : undefined;
}

/** Levenshtein distance with adjacent swaps counted as one edit; both words are short flag names. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** Throws the command's UsageError: for checks after parsing (a missing flag, a bad value). */
export function usageError(spec: CommandSpec, message: string): UsageError {
  return new UsageError(message, usageOf(spec));
}

/** Kept for the few internal parses without a spec. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export function portOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} must be a port number, got "${value}"`);
  return n;
}

export function secondsOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 3600) throw new UsageError(`--${name} must be a number of seconds, got "${value}"`);
  return n;
}

/** One of `allowed`, or a UsageError naming them. */
export function choiceOption<T extends string>(value: string | undefined, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`);
}

/** A boolean flag, or its environment variable's `true`/`false` (an env value is a string; anything else is refused, never read as false). */
export function booleanOption(value: string | boolean | undefined, name: string): boolean {
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new UsageError(`--${name} (or its environment variable) must be true or false, got "${value}"`);
}
