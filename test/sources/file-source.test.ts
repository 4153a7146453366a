import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { type FileSource, watchFile } from '../../src/sources/file-source.js';
import { waitFor } from '../helpers/wait.js';

let source: FileSource | undefined;
afterEach(() => source?.close());

function recorder() {
  const seen: string[] = [];
  return {
    seen,
    events: {
      onText: (t: string) => void seen.push(t),
      onMissing: (wasRead: boolean) => void seen.push(wasRead ? '<deleted>' : '<missing>'),
      onError: (c: string) => void seen.push(`<error ${c}>`),
    },
  };
}

it('follows a kubelet-style ConfigMap volume update (the ..data symlink is swapped, the file is never written)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airy-volume-'));
  const version = (n: number, text: string) => {
    mkdirSync(join(dir, `..v${n}`));
    writeFileSync(join(dir, `..v${n}`, 'airy.yaml'), text);
  };
  version(1, 'one');
  symlinkSync(`..v1`, join(dir, '..data'));
  symlinkSync('..data/airy.yaml', join(dir, 'airy.yaml'));
  const r = recorder();
  // A long poll interval, so only the directory watch can explain a quick update.
  source = watchFile(join(dir, 'airy.yaml'), r.events, 60_000);
  await source.check();
  expect(r.seen).toEqual(['one']);
  version(2, 'two');
  symlinkSync('..v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  rmSync(join(dir, '..v1'), { recursive: true });
  await waitFor(() => r.seen.includes('two'), 'the swapped content');
  expect(r.seen).toEqual(['one', 'two']);
});

it('reports a deleted file once, and its return', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airy-file-'));
  const file = join(dir, 'airy.yaml');
  writeFileSync(file, 'a');
  const r = recorder();
  source = watchFile(file, r.events, 60_000);
  await source.check();
  rmSync(file);
  await waitFor(() => r.seen.includes('<deleted>'), 'the deletion');
  await source.check();
  writeFileSync(file, 'b');
  await waitFor(() => r.seen.includes('b'), 'the new file');
  expect(r.seen).toEqual(['a', '<deleted>', 'b']);
});
