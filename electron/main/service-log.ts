/**
 * The service logs to stderr; in the desktop app nobody watches a terminal, so the shell keeps
 * that output in ORCHARD_HOME/logs/service.log (what "Show logs" reveals). One previous file is
 * kept when the current one outgrows its cap, so the log never eats the disk.
 */
import fs from 'node:fs';
import path from 'node:path';

export const SERVICE_LOG_FILE = 'service.log';

/**
 * Hides one-time sign-in tokens (`?token=…` in the UI link `orchard serve` prints): the window
 * signs in with them, and an unused one stays good for a day, so they stay out of log files,
 * the console and the shell's own messages.
 */
export function redactSignInTokens(text: string): string {
  return text.replace(/([?&]token=)[^\s&#'"<>]+/gi, '$1[redacted]');
}

export class ServiceLogFile {
  readonly file: string;
  private size: number;

  constructor(
    readonly dir: string,
    private readonly maxBytes = 5 * 1024 * 1024,
  ) {
    this.file = path.join(dir, SERVICE_LOG_FILE);
    fs.mkdirSync(dir, { recursive: true });
    this.size = fileSize(this.file);
  }

  write(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    try {
      fs.appendFileSync(this.file, text);
      this.size += bytes;
    } catch {
      // A full or read-only disk must not take the app down with it; the console still has it.
    }
  }

  private rotate(): void {
    try {
      fs.renameSync(this.file, `${this.file}.1`);
    } catch {
      // nothing to rotate
    }
    this.size = 0;
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
