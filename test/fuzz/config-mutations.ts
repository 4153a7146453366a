/** Deterministic mutations of a config text, for the config fuzz: every kind the review found or feared. */

/** A small seeded PRNG (mulberry32), so a failing case can be replayed from its index. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_VALUES = [
  '42',
  '-1.5e999',
  'true',
  'null',
  '~',
  '[]',
  '[a, [b, {c: d}]]',
  '{}',
  '{a: 1}',
  '!!binary aGVsbG8=',
  '!!timestamp 2001-12-14',
  '!custom tagged',
  '!!js/function "function () {}"',
  '!!set {a, b}',
  '!!omap [a: 1]',
  '&anchor value',
  '*anchor',
  '*undefined_alias',
  '"\\u0000\\x01 control"',
  "'unterminated",
  '"unterminated',
  '|\n    block\n    scalar',
  '>-\n    folded',
  '? complex\n  : key',
  '<<: *anchor',
  '"*@example.com,,*@@x,@"',
  '"/**"',
  '"https://*.*.*.*"',
];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** One mutated text of `base`; `i` picks the kind, the PRNG the details. */
export function mutate(base: string, r: Rand, i: number): string {
  const lines = base.split('\n');
  switch (i % 12) {
    case 0: // truncation anywhere
      return base.slice(0, Math.floor(r() * base.length));
    case 1: // extra documents, before or after, empty or not
      return pick(r, [`${base}---\n`, `---\n${base}`, `${base}---\nsecurity:\n  systemToken: other\n`, `${base}...\n---\n- list\n`, `${base}\n--- !!str\n`]);
    case 2: {
      // a value of the wrong type or an odd tag
      const at = 1 + Math.floor(r() * (lines.length - 1));
      const line = lines[at] ?? '';
      const colon = line.indexOf(':');
      if (colon > 0) lines[at] = `${line.slice(0, colon)}: ${pick(r, ODD_VALUES)}`;
      return lines.join('\n');
    }
    case 3: // anchors and aliases, including a billion-laughs shape
      return `a: &a ["x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c]\n${base}`;
    case 4: {
      // a huge scalar
      const at = 1 + Math.floor(r() * (lines.length - 1));
      const line = lines[at] ?? '';
      const colon = line.indexOf(':');
      if (colon > 0) lines[at] = `${line.slice(0, colon)}: "${pick(r, ['a', '*', ',', '/'])}${'x'.repeat(50_000 + Math.floor(r() * 200_000))}"`;
      return lines.join('\n');
    }
    case 5: {
      // random bytes flipped
      const chars = [...base];
      for (let k = 0; k < 1 + Math.floor(r() * 8); k++) chars[Math.floor(r() * chars.length)] = String.fromCharCode(Math.floor(r() * 256));
      return chars.join('');
    }
    case 6: // indentation broken, tabs
      return lines.map((l) => (r() < 0.3 ? l.replace(/^ +/, pick(r, ['', '\t', ' ', '      '])) : l)).join('\n');
    case 7: // duplicate keys and keys at the wrong level; providers of every odd shape
      return `${base}${pick(r, [
        '  systemToken: again\n',
        'systemToken: top\n',
        '  oidc:\n    systemToken: x\n',
        '  oidc: 5\n',
        'security: again\n',
        '  providers: [corp]\n',
        '  providers:\n    corp: 5\n',
        '  providers:\n    "a/b": {}\n    "": {clientId: x}\n',
        '  providers:\n    github:\n      clientId: x\n      clientSecret: y\n      provider: okta\n      sessionTtl: 1h\n',
        '  providers:\n    github:\n      clientId: x\n      clientSecret: y\n      allowedEmailPatterns: "*@example.com"\n  allowedProviders: githb\n',
        '  providers:\n    GitHub: {clientId: x, clientSecret: y}\n    github: {clientId: x, clientSecret: y}\n',
        '  providers:\n    corp: {issuerUri: "http://idp.example.com", clientId: x, displayName: [a]}\n  oidc:\n    clientId: y\n',
        '  policies:\n    p:\n      providers: [nobody, 5]\n',
      ])}`;
    case 8: // the whole document replaced by another shape
      return pick(r, [
        '',
        '---',
        'null',
        '[1,2]',
        '"string"',
        'security:',
        'security: []',
        'security: 5',
        '%YAML 1.2\n---\n',
        '%TAG ! tag:x,2000:\n---\n!x 1',
        '\uFEFF',
      ]);
    case 9: {
      // deep nesting
      const depth = 50 + Math.floor(r() * 2000);
      return `${base}  deep: ${'['.repeat(depth)}${']'.repeat(r() < 0.5 ? depth : depth - 1)}\n`;
    }
    case 10: // lines shuffled
      return lines.sort(() => r() - 0.5).join('\n');
    default: {
      // a list value made odd: empty items, huge lists, patterns that once backtracked
      const list = Array.from({ length: 1 + Math.floor(r() * 3000) }, (_, k) =>
        pick(r, [`u${k}@example.com`, '*@*.example.com', '', ' ', `https://*.*.${k}.example.org`]),
      );
      return `${base}  allowedEmailPatterns: "${list.join(',')}"\n`;
    }
  }
}
