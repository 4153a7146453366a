export function documentedValues(valuesText: string): { key: string; default: unknown; description: string }[];
export function chartReadme(chartYamlText: string, valuesText: string): string;
