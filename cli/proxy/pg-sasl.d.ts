// Types for node-postgres's SCRAM client (pg/lib/crypto/sasl.js), which ships without them.
declare module 'pg/lib/crypto/sasl.js' {
  export interface SaslSession {
    mechanism: string;
    response: string;
  }
  export function startSession(mechanisms: string[], stream?: unknown): SaslSession;
  export function continueSession(session: SaslSession, password: string, serverData: string, stream?: unknown): Promise<void>;
  export function finalizeSession(session: SaslSession, serverData: string): void;
}
