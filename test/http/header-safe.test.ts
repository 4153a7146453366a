import { expect, it } from 'vitest';
import { headerSafe } from '../../src/http/decision-response.js';

it('encodes an identity value that HTTP would trim or misread on its way upstream', () => {
  expect(headerSafe('ann')).toBe('ann');
  expect(headerSafe('Ann Smith')).toBe('Ann Smith');
  expect(headerSafe('')).toBe('');
  // A space at either end is trimmed by every HTTP parser: " admin " would arrive as "admin".
  expect(headerSafe(' admin ')).toBe('%20admin%20');
  expect(headerSafe('admin\t')).toBe('admin%09');
  expect(headerSafe('ü')).toBe('%C3%BC');
  expect(headerSafe('%C3%BC')).toBe('%25C3%25BC');
});
