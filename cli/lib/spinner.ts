/**
 * A spinner for calls that may take a while, drawn on stderr only when stderr
 * is a terminal: piped or captured output stays clean.
 *
 * @example
 *   const creds = await withSpinner('minting credentials', fetchCredentials(...));
 */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface SpinnerStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

export async function withSpinner<T>(label: string, work: Promise<T>, stream: SpinnerStream = process.stderr): Promise<T> {
  if (!stream.isTTY) return work;
  let frame = 0;
  const draw = () => stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${label}…`);
  // A short delay so instant answers do not flicker.
  const timer = setInterval(draw, 80);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    if (frame > 0) stream.write('\r\x1b[2K');
  }
}
