import { parseDuration } from '../src/config/duration.js';
import type { RevocationEntry, RevocationKind } from '../src/session/revocation-list.js';
import { type CommandSpec, parseCommand, UsageError, usageError, usageOf } from './args.js';

export const REVOKE: CommandSpec = {
  name: 'revoke',
  summary:
    'Revokes sessions on every replica at once, by writing the revocation ConfigMap (serve --revocations) with your ' +
    "kubeconfig's identity. Sessions of a subject or email issued until now are refused; they may log in again.",
  flags: {
    revocations: { type: 'string', value: '[NS/]NAME', help: 'the revocation ConfigMap that serve --revocations watches (required)' },
    session: { type: 'string', value: 'JTI', multiple: true, help: "one session, by its jti (the request log's jti field)" },
    subject: { type: 'string', value: 'ID', multiple: true, help: 'every session of this user id issued until now' },
    email: { type: 'string', value: 'EMAIL', multiple: true, help: 'every session with this email issued until now (case-insensitive)' },
    'all-before': { type: 'string', value: 'TIME', help: 'every session issued before TIME (RFC 3339 with a zone, or "now")' },
    lifetime: {
      type: 'string',
      value: 'DURATION',
      default: '30d',
      help: 'how long an entry is kept: at least the longest session lifetime (sessionTtl)',
    },
  },
};

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** `airy-auth revoke`: one command that cuts a person or one stolen session off on every replica. */
export async function revokeCommand(argv: string[], out: (s: string) => void, err: (s: string) => void, now = Date.now()): Promise<number> {
  const parsed = parseCommand(argv, REVOKE);
  if (parsed === 'help') {
    out(usageOf(REVOKE));
    return 0;
  }
  const values = parsed.values as { revocations?: string; session?: string[]; subject?: string[]; email?: string[]; 'all-before'?: string; lifetime?: string };
  if (!values.revocations) throw usageError(REVOKE, 'revoke needs --revocations [NS/]NAME');
  const lifetime = parseDuration(values.lifetime ?? '30d');
  if (lifetime === undefined || lifetime < 60)
    throw usageError(REVOKE, `--lifetime "${values.lifetime}" is not a duration of a minute or more, such as 30d or 12h`);
  const nowSeconds = Math.floor(now / 1000);
  const { revocationEntry } = await import('../src/session/revocation-list.js');
  const wanted: { kind: RevocationKind; value: string }[] = [
    ...(values.session ?? []).map((value) => ({ kind: 'jti' as const, value })),
    ...(values.subject ?? []).map((value) => ({ kind: 'sub' as const, value })),
    ...(values.email ?? []).map((value) => ({ kind: 'email' as const, value })),
  ];
  const entries: RevocationEntry[] = [];
  try {
    for (const w of wanted) entries.push(revocationEntry(w.kind, w.value, nowSeconds, lifetime));
  } catch (e) {
    throw usageError(REVOKE, (e as Error).message);
  }
  const allBefore = values['all-before'];
  if (allBefore !== undefined) {
    const ms = allBefore === 'now' ? now : RFC3339.test(allBefore) ? Date.parse(allBefore) : Number.NaN;
    if (Number.isNaN(ms)) throw usageError(REVOKE, `--all-before "${allBefore}" is not RFC 3339 with a zone (such as 2026-11-29T10:00:00Z) or "now"`);
    if (ms > now + 60_000) throw usageError(REVOKE, '--all-before is in the future: every session issued until then, including new logins, would be refused');
    entries.push(revocationEntry('all', '', ms / 1000, lifetime));
  }
  if (entries.length === 0) throw usageError(REVOKE, 'name what to revoke: --session, --subject, --email or --all-before');

  // Loaded only here: @kubernetes/client-node is slow to import.
  const { resolveRevocationsTarget } = await import('../src/sources/revocations-source.js');
  const { revocationsApi, writeRevocations } = await import('../src/sources/revocations-writer.js');
  let target: ReturnType<typeof resolveRevocationsTarget>;
  try {
    target = resolveRevocationsTarget(values.revocations);
  } catch (e) {
    throw new UsageError(`--revocations: ${(e as Error).message}`, usageOf(REVOKE));
  }
  const { ref } = target;
  const api = revocationsApi(target.kubeConfig);
  try {
    await writeRevocations(api, ref, entries, nowSeconds);
  } catch (e) {
    err(`airy-auth revoke: NOT revoked: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const until = (e: RevocationEntry) => new Date(e.until * 1000).toISOString();
  for (const [i, e] of entries.entries()) {
    const what = e.kind === 'all' ? `every session issued before ${new Date(e.at * 1000).toISOString()}` : `${KIND_WORDS[e.kind]} ${wanted[i]!.value}`;
    out(`revoked ${what} (${e.key} in configmap ${ref.namespace}/${ref.name}, kept until ${until(e)})\n`);
  }
  return 0;
}

const KIND_WORDS: Record<Exclude<RevocationKind, 'all'>, string> = { jti: 'session', sid: 'provider session', sub: 'subject', email: 'email' };
