/**
 * Bounds on what the host keeps of a PVF's log output. Polkadot's execute worker does not send the
 * PVF's logs to the host at all (they go to the worker's own tracing output), so logs can never
 * change a verdict there; here they travel in the worker's answer, and an unbounded line (one
 * `ext_logging_log_version_1` call can pass the whole 130 MiB memory) would make the answer too big
 * to serialise. So every engine keeps at most MAX_LOG_LINE_BYTES of a line and MAX_LOG_TOTAL_BYTES
 * in all, with a visible marker where something was cut. The verdict never depends on logs.
 */

/** The most of one line's message (and of its target) kept, in UTF-8 bytes. */
export const MAX_LOG_LINE_BYTES = 64 * 1024;
/** The most of all lines kept (messages + targets), in UTF-8 bytes; later lines are counted, not kept. */
export const MAX_LOG_TOTAL_BYTES = 1024 * 1024;
/** The target of the marker line that says lines were dropped. */
export const LOG_MARKER_TARGET = 'pvf';

export interface BoundedLogLine {
  level: string;
  target: string;
  message: string;
}

/** Cut UTF-8 bytes to at most `max` bytes at a character boundary. */
export function cutUtf8(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so the cut never splits a character.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function truncatedMarker(fullBytes: number, max: number): string {
  return ` … [truncated by pvf: ${fullBytes} bytes, ${max} kept]`;
}

/** A message of valid UTF-8 bytes, bounded to `max` bytes with a marker if cut. */
export function boundUtf8Message(bytes: Uint8Array, max: number = MAX_LOG_LINE_BYTES): string {
  if (bytes.length <= max) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  const kept = cutUtf8(bytes, max);
  return Buffer.from(kept.buffer, kept.byteOffset, kept.length).toString('utf8') + truncatedMarker(bytes.length, max);
}

/** A string bounded to `max` UTF-8 bytes with a marker if cut. */
export function boundString(s: string, max: number = MAX_LOG_LINE_BYTES): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no measuring.
  if (s.length * 3 <= max) return s;
  const full = Buffer.byteLength(s, 'utf8');
  if (full <= max) return s;
  let head = s.slice(0, max);
  const last = head.charCodeAt(head.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) head = head.slice(0, -1); // never keep half a surrogate pair
  const kept = cutUtf8(Buffer.from(head, 'utf8'), max);
  return Buffer.from(kept.buffer, kept.byteOffset, kept.length).toString('utf8') + truncatedMarker(full, max);
}

/**
 * The lines a host keeps, within the bounds. `add` returns the line as kept (its message possibly
 * truncated), or the bounded line it would have kept when the total is exhausted (the caller may
 * still use it, e.g. as the panic message of a trap).
 */
export class LogBuffer {
  readonly lines: BoundedLogLine[] = [];
  private total = 0;
  private dropped = 0;
  private droppedBytes = 0;
  private marker: BoundedLogLine | undefined;

  constructor(
    private readonly maxLine: number = MAX_LOG_LINE_BYTES,
    private readonly maxTotal: number = MAX_LOG_TOTAL_BYTES,
  ) {}

  /** Add a line whose message is already a string. */
  add(level: string, target: string, message: string): { line: BoundedLogLine; kept: boolean } {
    return this.push({ level, target: boundString(target, this.maxLine), message: boundString(message, this.maxLine) });
  }

  /** Add a line whose message is given as valid UTF-8 bytes (not decoded beyond the line bound). */
  addUtf8(level: string, target: string, message: Uint8Array): { line: BoundedLogLine; kept: boolean } {
    return this.push({ level, target: boundString(target, this.maxLine), message: boundUtf8Message(message, this.maxLine) });
  }

  private push(line: BoundedLogLine): { line: BoundedLogLine; kept: boolean } {
    const size = Buffer.byteLength(line.message, 'utf8') + Buffer.byteLength(line.target, 'utf8');
    if (!this.marker && this.total + size <= this.maxTotal) {
      this.total += size;
      this.lines.push(line);
      return { line, kept: true };
    }
    this.dropped++;
    this.droppedBytes += size;
    if (!this.marker) {
      this.marker = { level: 'warn', target: LOG_MARKER_TARGET, message: '' };
      this.lines.push(this.marker);
    }
    this.marker.message = `log output truncated by pvf: ${this.dropped} more line(s) (${this.droppedBytes} bytes or more) dropped after ${this.total} bytes, the limit is ${this.maxTotal}`;
    return { line, kept: false };
  }
}

/** Bound a list of lines (a worker's answer, read by the host): the same limits, applied again. */
export function boundLogs(lines: readonly BoundedLogLine[]): BoundedLogLine[] {
  // Slack for the markers a worker has already added, so bounded lines pass unchanged.
  const b = new LogBuffer(MAX_LOG_LINE_BYTES + 1024, MAX_LOG_TOTAL_BYTES + 64 * 1024);
  for (const l of lines) b.add(String(l.level), String(l.target), String(l.message));
  return b.lines;
}
