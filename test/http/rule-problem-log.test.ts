import { expect, it } from 'vitest';
import { RuleProblemLog } from '../../src/http/rule-problem-log.js';
import { memoryLogger } from '../../src/log.js';

it('says each mistake once per host, at most 10 a minute, then how many it kept quiet, with a bounded memory', () => {
  const logger = memoryLogger();
  const log = new RuleProblemLog(logger);
  log.report('unknown policy "a"', 'one.example.com', 0);
  log.report('unknown policy "a"', 'one.example.com', 1);
  log.report('unknown policy "a"', 'two.example.com', 2);
  expect(logger.lines.map((l) => l.fields.host)).toEqual(['one.example.com', 'two.example.com']);
  for (let i = 0; i < 100; i++) log.report(`unknown policy "p${i}"`, 'flood.example.com', 1000 + i);
  expect(logger.lines).toHaveLength(10);
  // The next window says how many were suppressed, then says the new mistake.
  log.report('unknown policy "late"', 'flood.example.com', 61_000);
  expect(logger.lines.slice(10).map((l) => [l.msg.startsWith('more routes'), l.fields.suppressed ?? l.fields.problem])).toEqual([
    [true, 92],
    [false, 'unknown policy "late"'],
  ]);
  // The memory is bounded: after 256 other mistakes the first may be said again.
  for (let w = 0; w < 30; w++) for (let i = 0; i < 10; i++) log.report(`m${w}-${i}`, 'h', 200_000 + w * 60_000 + i);
  const before = logger.lines.length;
  log.report('unknown policy "a"', 'one.example.com', 10_000_000);
  expect(logger.lines.length).toBeGreaterThan(before);
});
