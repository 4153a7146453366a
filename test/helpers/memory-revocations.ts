import type { Revocations } from '../../src/http/deps.js';
import { EMPTY_REVOCATIONS, parseRevocations, type RevocationEntry } from '../../src/session/revocation-list.js';

/**
 * The revocation list of one replica without an apiserver: entries recorded here apply at once,
 * as the real source applies its own writes. `failWrites` makes `record` throw after applying
 * them locally, as a write to an unreachable apiserver does.
 */
export class MemoryRevocations implements Revocations {
  current = EMPTY_REVOCATIONS;
  recorded: RevocationEntry[] = [];
  failWrites = false;
  async record(entries: readonly RevocationEntry[]): Promise<void> {
    this.recorded.push(...entries);
    this.current = parseRevocations({}, this.recorded).list;
    if (this.failWrites) throw new Error('cannot reach the apiserver');
  }
}
