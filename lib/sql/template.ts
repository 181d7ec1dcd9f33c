/**
 * Vault-style statement templates (`{{name}}` or its alias `{{username}}`,
 * `{{password}}`, `{{expiration}}`) for roles with custom creation, renewal or
 * revocation statements. Only pre-quoted values are substituted:
 *
 *   "{{name}}"  and bare {{name}}                → ident(name)
 *   '{{password}}' and bare {{password}}          → literal(password)   (pgmint passes the SCRAM verifier)
 *   '{{expiration}}' and bare {{expiration}}      → literal(expiration)
 *   '{{name}}'                                    → literal(name)
 *
 * The template is lexed like Postgres lexes SQL, so a placeholder is only
 * recognised where its context is known. Rejected (validation error): unknown
 * variables; a placeholder that is only part of a quoted string or identifier,
 * or sits inside a dollar-quoted body (`DO $$ … $$`); a backslash inside a
 * single-quoted string (its meaning depends on standard_conforming_strings —
 * use a dollar-quoted string); prefixed strings around a placeholder
 * (`E'{{password}}'`, `U&"{{name}}"`); a bare placeholder glued to a word, a
 * number, a quote or another placeholder; unterminated quotes or comments.
 * Placeholders inside comments are left as they are.
 *
 * @example
 *   renderTemplate(`CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
 *     { name: 'pgm_a_b_x1y2z3w4', password: verifier, expiration: expiresAt.toISOString() });
 */
import { ident, literal } from './quote.js';

export type TemplateVariable = 'name' | 'password' | 'expiration';

export interface TemplateValues {
  name: string;
  password?: string;
  expiration?: string;
}

const VARIABLES: Record<string, TemplateVariable> = {
  name: 'name',
  username: 'name',
  password: 'password',
  expiration: 'expiration',
};

type Piece = string | { variable: TemplateVariable; quote: 'ident' | 'literal' };

class TemplateError extends Error {}

const PLACEHOLDER_AT = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;
const WHOLE_PLACEHOLDER = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;
const ANY_PLACEHOLDER = /\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}/;
const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;
const DIGITS = /[0-9]+/y;
const PARAM = /\$[0-9]+/y;
const DOLLAR_DELIMITER = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
/** Characters that would fuse with a substituted value into one token. */
const GLUE_BEFORE = /[A-Za-z0-9_$&\u0080-\uffff'"}]/;
const GLUE_AFTER = /[A-Za-z0-9_$\u0080-\uffff'"{]/;
const PREFIX = /[A-Za-z0-9_$&\u0080-\uffff]/;

function variable(name: string): TemplateVariable {
  const v = VARIABLES[name];
  if (!v) throw new TemplateError(`unknown template variable {{${name}}} (known: name, username, password, expiration)`);
  return v;
}

function match(re: RegExp, text: string, at: number): string | undefined {
  re.lastIndex = at;
  return re.exec(text)?.[0];
}

/** Ends a `'…'` or `"…"` token starting at `start`; a doubled quote stays inside. */
function quotedEnd(t: string, start: number, q: string): number {
  let j = start + 1;
  for (;;) {
    const k = t.indexOf(q, j);
    if (k < 0) throw new TemplateError(q === "'" ? 'unterminated string literal' : 'unterminated quoted identifier');
    if (t[k + 1] === q) j = k + 2;
    else return k + 1;
  }
}

function parse(t: string): Piece[] {
  if (typeof t !== 'string') throw new TemplateError('template must be a string');
  const pieces: Piece[] = [];
  let text = '';
  let hasCode = false;
  const push = (p: Piece) => {
    if (typeof p === 'string') text += p;
    else {
      pieces.push(text, p);
      text = '';
    }
  };
  let i = 0;
  while (i < t.length) {
    const c = t[i]!;
    const prev = t[i - 1] ?? ' ';
    if (t.startsWith('--', i)) {
      let end = i + 2;
      while (end < t.length && t[end] !== '\n' && t[end] !== '\r') end++;
      push(t.slice(i, end));
      i = end;
    } else if (t.startsWith('/*', i)) {
      // Postgres nests block comments.
      let depth = 1;
      let j = i + 2;
      while (depth > 0) {
        if (j >= t.length) throw new TemplateError('unterminated block comment');
        if (t.startsWith('/*', j)) {
          depth++;
          j += 2;
        } else if (t.startsWith('*/', j)) {
          depth--;
          j += 2;
        } else {
          j++;
        }
      }
      push(t.slice(i, j));
      i = j;
    } else if (c === "'" || c === '"') {
      const end = quotedEnd(t, i, c);
      const token = t.slice(i, end);
      const content = token.slice(1, -1);
      if (c === "'" && content.includes('\\')) {
        throw new TemplateError('backslash in a string literal: use a dollar-quoted string instead');
      }
      const whole = WHOLE_PLACEHOLDER.exec(content);
      if (whole) {
        const v = variable(whole[1]!);
        if (PREFIX.test(prev)) throw new TemplateError(`{{${whole[1]}}} must be in a plain '…' or "…" quote`);
        if (c === '"' && v !== 'name') throw new TemplateError(`{{${whole[1]}}} cannot be an identifier`);
        push({ variable: v, quote: c === '"' ? 'ident' : 'literal' });
      } else if (ANY_PLACEHOLDER.test(content)) {
        throw new TemplateError('a placeholder must be the whole quoted string or identifier');
      } else {
        push(token);
      }
      hasCode = true;
      i = end;
    } else if (c === '$') {
      const param = match(PARAM, t, i);
      const delimiter = param ? undefined : match(DOLLAR_DELIMITER, t, i);
      if (param) {
        push(param);
        i += param.length;
      } else if (delimiter) {
        const close = t.indexOf(delimiter, i + delimiter.length);
        if (close < 0) throw new TemplateError('unterminated dollar-quoted string');
        const end = close + delimiter.length;
        if (ANY_PLACEHOLDER.test(t.slice(i + delimiter.length, close))) {
          throw new TemplateError('placeholders are not substituted inside dollar-quoted strings');
        }
        push(t.slice(i, end));
        i = end;
      } else {
        push(c);
        i++;
      }
      hasCode = true;
    } else if (c === '{' && t[i + 1] === '{') {
      PLACEHOLDER_AT.lastIndex = i;
      const m = PLACEHOLDER_AT.exec(t);
      if (!m) throw new TemplateError('malformed placeholder: expected {{name}}, {{password}} or {{expiration}}');
      const v = variable(m[1]!);
      const next = t[i + m[0].length] ?? ' ';
      if (GLUE_BEFORE.test(prev) || GLUE_AFTER.test(next)) {
        throw new TemplateError(`{{${m[1]}}} must be separated from neighbouring words, quotes and placeholders`);
      }
      push({ variable: v, quote: v === 'name' ? 'ident' : 'literal' });
      hasCode = true;
      i += m[0].length;
    } else {
      const run = match(WORD, t, i) ?? match(DIGITS, t, i) ?? c;
      push(run);
      if (!/^\s+$/.test(run)) hasCode = true;
      i += run.length;
    }
  }
  if (!hasCode) throw new TemplateError('template has no statements');
  pieces.push(text);
  return pieces;
}

/** The variables a template uses (aliases folded), or a TypeError if it is invalid. */
export function templateVariables(template: string): Set<TemplateVariable> {
  const used = new Set<TemplateVariable>();
  for (const p of parseOrThrow(template)) if (typeof p !== 'string') used.add(p.variable);
  return used;
}

/**
 * Registration-time check: the reason the template is unusable, or null.
 * `require` lists variables the template must use (e.g. `['name']` for
 * creation statements).
 */
export function validateTemplate(template: string, options: { require?: TemplateVariable[] } = {}): string | null {
  let pieces: Piece[];
  try {
    pieces = parse(template);
  } catch (err) {
    if (err instanceof TemplateError) return err.message;
    throw err;
  }
  for (const needed of options.require ?? []) {
    if (!pieces.some((p) => typeof p !== 'string' && p.variable === needed)) return `template must use {{${needed}}}`;
  }
  return null;
}

/**
 * Substitutes quoted values into a valid template. An invalid template or a
 * missing value is a TypeError (templates are checked when registered);
 * values `ident`/`literal` refuse raise PgmintError('invalid_request').
 */
export function renderTemplate(template: string, vars: TemplateValues): string {
  const pieces = parseOrThrow(template);
  let out = '';
  for (const p of pieces) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const value = vars[p.variable];
    if (typeof value !== 'string') throw new TypeError(`template uses {{${p.variable}}} but no value was given`);
    out += p.quote === 'ident' ? ident(value) : literal(value);
  }
  return out;
}

function parseOrThrow(template: string): Piece[] {
  try {
    return parse(template);
  } catch (err) {
    if (err instanceof TemplateError) throw new TypeError(`invalid statement template: ${err.message}`);
    throw err;
  }
}
