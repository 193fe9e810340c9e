/**
 * Parses a Salesforce datetime (REST's `2024-03-05T17:38:40.000+0000`, Bulk's and ISO `Z`) to epoch ms; NaN
 * if unparsable. `Date.parse` needs the offset as `+00:00`, which is all this adds.
 */
export function parseSfDate(value: string): number {
  return Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}
