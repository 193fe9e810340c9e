/**
 * Did-you-mean for names users type: objects, fields, columns, commands, flags. A Levenshtein distance with
 * a threshold that grows with the name, so `Acount → Account` and `Industy → Industry` are suggested while
 * unrelated names are not.
 */

/** Levenshtein distance (small strings: names). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/**
 * The candidate closest to `name` (case-insensitive), if it is close enough to be a plausible typo: at most
 * 2 edits, or a third of the name's length for long names. A case-only difference always matches.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: [string, number] | undefined;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (!best || d < best[1]) best = [c, d];
    if (d === 0) break;
  }
  return best && best[1] <= Math.max(2, Math.floor(name.length / 3)) ? best[0] : undefined;
}

/** `" (did you mean X?)"` for a near miss, else `""`: append it to a message that names `name`. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const best = closestName(name, candidates);
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}
