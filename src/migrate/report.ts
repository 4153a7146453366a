/** What happened to one annotation: nothing is ever dropped without a line here. */
export type Outcome = 'refused' | 'translated' | 'dropped' | 'untranslatable' | 'changed' | 'not-auth';

export interface ReportLine {
  readonly ingress: string;
  readonly annotation: string;
  readonly outcome: Outcome;
  readonly detail: string;
}

export function formatReport(lines: readonly ReportLine[]): string {
  const order: Outcome[] = ['refused', 'untranslatable', 'changed', 'translated', 'dropped', 'not-auth'];
  const label: Record<Outcome, string> = {
    refused: 'ERROR, nothing emitted for this Ingress',
    translated: 'translated',
    dropped: 'dropped (not needed)',
    untranslatable: 'NOT TRANSLATED (action needed)',
    changed: 'WARNING, behaviour not carried over',
    'not-auth': 'not an auth annotation (left to ingress2gateway or by hand)',
  };
  return [...lines]
    .sort((a, b) => order.indexOf(a.outcome) - order.indexOf(b.outcome) || a.ingress.localeCompare(b.ingress))
    .map((l) => `${label[l.outcome]}: ${l.ingress}: ${l.annotation === '-' ? '' : `${l.annotation}: `}${l.detail}`)
    .join('\n');
}
