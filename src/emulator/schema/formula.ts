/**
 * The small formula language the emulator evaluates: arithmetic over number fields of the same record,
 * e.g. `Amount * Probability / 100` (Opportunity.ExpectedRevenue) or `(Price__c - Cost__c) * Qty__c`.
 * Supported: field names, numeric literals, `+ - * /`, unary minus and parentheses. As on the platform
 * (without "treat blanks as zero"), any blank operand makes the result blank, and division by zero is blank.
 */

export type Formula =
  | { kind: 'num'; value: number }
  | { kind: 'field'; name: string }
  | { kind: 'neg'; arg: Formula }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/'; left: Formula; right: Formula };

const TOKEN = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z][A-Za-z0-9_]*)|([-+*/()]))/y;

/** Parses a formula; throws an Error naming the position and what is supported when it cannot. */
export function parseFormula(text: string): Formula {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) {
      if (/^\s*$/.test(text.slice(at))) break;
      throw new Error(`formula "${text}": unexpected "${text.slice(at).trim()[0]}" at ${at + 1}; only field names, numbers, + - * / and parentheses are supported`);
    }
    tokens.push(m[1] ?? m[2] ?? m[3]);
  }
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`formula "${text}": ${what}; write arithmetic such as Amount * Probability / 100`);
  };
  const primary = (): Formula => {
    const t = tokens[i++];
    if (t === undefined) return fail('ends too early');
    if (t === '(') {
      const inner = sum();
      if (tokens[i++] !== ')') fail('missing ")"');
      return inner;
    }
    if (t === '-') return { kind: 'neg', arg: primary() };
    if (/^\d/.test(t)) return { kind: 'num', value: Number(t) };
    if (/^[A-Za-z]/.test(t)) return { kind: 'field', name: t };
    return fail(`unexpected "${t}"`);
  };
  const product = (): Formula => {
    let left = primary();
    while (tokens[i] === '*' || tokens[i] === '/') {
      const op = tokens[i++] as '*' | '/';
      left = { kind: 'bin', op, left, right: primary() };
    }
    return left;
  };
  const sum = (): Formula => {
    let left = product();
    while (tokens[i] === '+' || tokens[i] === '-') {
      const op = tokens[i++] as '+' | '-';
      left = { kind: 'bin', op, left, right: product() };
    }
    return left;
  };
  const out = sum();
  if (i < tokens.length) fail(`unexpected "${tokens[i]}"`);
  return out;
}

/** The field names a formula reads (for validating a schema file against its object's fields). */
export function formulaFields(f: Formula): string[] {
  switch (f.kind) {
    case 'num':
      return [];
    case 'field':
      return [f.name];
    case 'neg':
      return formulaFields(f.arg);
    case 'bin':
      return [...formulaFields(f.left), ...formulaFields(f.right)];
  }
}

const cache = new Map<string, Formula>();

function parsedFormula(text: string): Formula {
  let parsed = cache.get(text);
  if (!parsed) {
    parsed = parseFormula(text);
    cache.set(text, parsed);
  }
  return parsed;
}

/**
 * Compiles a formula to a SQL expression so queries can select, filter and sort on it like a column.
 * SQL's NULL arithmetic gives the platform's blank semantics (a blank operand or a division by zero is
 * blank); division is done in floating point, as formulas never truncate. `column` maps a field name to its
 * SQL column, or null when the field has no column (the formula is then blank). Numeric literals come from
 * the schema, never from a request, and are validated digits, so they are written inline.
 */
export function formulaSql(text: string, column: (field: string) => string | null): string {
  const sql = (f: Formula): string => {
    switch (f.kind) {
      case 'num':
        return Number.isInteger(f.value) ? `${f.value}.0` : String(f.value);
      case 'field':
        return column(f.name) ?? 'NULL';
      case 'neg':
        return `(-${sql(f.arg)})`;
      case 'bin':
        return f.op === '/'
          ? `(CAST(${sql(f.left)} AS REAL) / NULLIF(${sql(f.right)}, 0))`
          : `(${sql(f.left)} ${f.op} ${sql(f.right)})`;
    }
  };
  return sql(parsedFormula(text));
}

/**
 * Evaluates a formula against a record; `get` returns a field's value by (any-case) name. Non-numeric or
 * blank operands give `null`, as a blank number does in a Salesforce formula.
 */
export function evaluateFormula(text: string, get: (field: string) => unknown): number | null {
  const parsed = parsedFormula(text);
  const ev = (f: Formula): number | null => {
    switch (f.kind) {
      case 'num':
        return f.value;
      case 'field': {
        const v = get(f.name);
        const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
        return Number.isFinite(n) ? n : null;
      }
      case 'neg': {
        const a = ev(f.arg);
        return a === null ? null : -a;
      }
      case 'bin': {
        const a = ev(f.left);
        const b = ev(f.right);
        if (a === null || b === null) return null;
        if (f.op === '+') return a + b;
        if (f.op === '-') return a - b;
        if (f.op === '*') return a * b;
        return b === 0 ? null : a / b;
      }
    }
  };
  return ev(parsed);
}
