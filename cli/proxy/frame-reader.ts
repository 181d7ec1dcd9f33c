/**
 * Reads whole protocol messages from a socket during the handshake (the
 * untyped startup packets, then typed messages), and gives the socket back
 * with whatever was read past the last message once the relay takes over.
 *
 * @example
 *   const reader = new FrameReader(socket);
 *   const packet = await reader.startupPacket();
 *   const { type, body } = await reader.message();
 *   const rest = reader.release(); // bytes already read that belong to the relay
 */
import type { Duplex } from 'node:stream';

/** Postgres refuses startup packets over 10,000 bytes (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET = 10_000;
/** Handshake messages (SASL, errors, parameter statuses) are small; anything larger is not a handshake. */
const MAX_HANDSHAKE_MESSAGE = 1 << 20;

export class ProtocolError extends Error {}

export interface Frame {
  type: string;
  body: Buffer;
  /** The message as it arrived, header included, for passing on unchanged. */
  raw: Buffer;
}

export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private closed: Error | null = null;
  private readonly onData = (chunk: Buffer) => {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.wake?.();
  };
  private readonly onEnd = () => this.fail(new ProtocolError('the peer closed the connection'));
  private readonly onError = (err: Error) => this.fail(err);

  constructor(private readonly socket: Duplex) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private fail(err: Error): void {
    this.closed ??= err;
    this.wake?.();
  }

  private async need(n: number): Promise<void> {
    while (this.buffer.length < n) {
      if (this.closed) throw this.closed;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  private take(n: number): Buffer {
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** A length-prefixed packet without a type byte: StartupMessage, SSLRequest, CancelRequest. */
  async startupPacket(): Promise<Buffer> {
    await this.need(4);
    const length = this.buffer.readInt32BE(0);
    if (length < 8 || length > MAX_STARTUP_PACKET) throw new ProtocolError(`invalid startup packet length ${length}`);
    await this.need(length);
    return this.take(length);
  }

  async message(): Promise<Frame> {
    await this.need(5);
    const length = this.buffer.readInt32BE(1);
    if (length < 4 || length > MAX_HANDSHAKE_MESSAGE) throw new ProtocolError(`invalid message length ${length}`);
    await this.need(length + 1);
    const raw = this.take(length + 1);
    return { type: String.fromCharCode(raw[0]!), body: raw.subarray(5), raw };
  }

  /** Stops reading and returns the bytes read past the last message. The socket is left paused. */
  release(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.pause();
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }
}
