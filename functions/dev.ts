/**
 * `npm start`: the broker on http://127.0.0.1:8787 with the embedded default
 * (a real Postgres under .pgmint/ and a development OIDC issuer), or against
 * PGMINT_DATABASE_URL when it is set.
 */
import { resolve } from 'node:path';
import { startStack } from './local/stack.js';

const home = resolve(process.env.PGMINT_HOME ?? '.pgmint');
const port = Number(process.env.PORT ?? 8787);

/** The folder as a shell word: plain when it can be, else single-quoted. */
const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
// Another terminal does not have this one's PGMINT_HOME: the printed command names the folder itself.
const homeOption = process.env.PGMINT_HOME ? ` --home ${shellWord(home)}` : '';

const stack = await startStack({
  home,
  brokerPort: port,
  issuerPort: Number(process.env.PGMINT_DEV_ISSUER_PORT ?? 8788),
  log: (l) => console.log(l),
});
const b = stack.brokerUrl;
const exchange = `${b}/api/v1/databases/demo`;
console.log(`
pgmint is serving on ${b}
  control plane : ${stack.postgres ? `embedded PostgreSQL ${stack.postgres.version} on 127.0.0.1:${stack.postgres.port}, data in ${home}/postgres` : 'PGMINT_DATABASE_URL'}
  dev issuer    : ${stack.issuer.url}
  admin token   : in ${home}/admin.token   API docs: ${b}/docs
${
  stack.postgres
    ? `
Try it (another terminal, in this folder):

  # 1. mint a development service-account token for demo/api
  TOKEN=$(npm run -s pgmint -- token dev${homeOption} --namespace demo --service-account api)

  # 2. exchange it for a short-lived Postgres login (JSON)
  curl -s -H "Authorization: Bearer $TOKEN" ${exchange}/credentials/k8s

  # 3. connect with psql using a fresh login
  psql "$(curl -s -H "Authorization: Bearer $TOKEN" ${exchange}/connect/k8s)" -c 'SELECT current_user, count(*) FROM app.orders'
`
    : ''
}
Ctrl-C stops everything.`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping …`);
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
