/** An error the CLI reports as one line and an exit code (2: bad usage or setting). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
