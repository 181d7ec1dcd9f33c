/**
 * A statement with `$n` parameters, as the builders in lib/sql/ return it and
 * lib/targets/ sends it: text never carries a value, params do.
 *
 * @example
 *   const { text, params } = existingRolesSql(['app_readonly']);
 *   await sql.query(text, params);
 */
export interface Statement {
  text: string;
  params: unknown[];
}
