/**
 * The `orchard` command line. Exit codes: 0 ok, 1 failure, 2 bad usage or a bad setting value.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../service/paths.js';
import { SettingsError } from '../service/settings-loader.js';
import { CliError } from './cli-error.js';
import { COMMANDS } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('orchard')
    .description('Serve small language models from your own machine.')
    .version(packageVersion())
    // Program options only before the subcommand, so `orchard deploy x --version 2` reaches deploy.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI; resolves with the exit code (long-running commands keep the process alive). */
export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help') return 0;
      // Commander has already printed the message.
      return 2;
    }
    if (err instanceof SettingsError) {
      process.stderr.write(`orchard: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`orchard: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`orchard: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

function isEntry(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && path.resolve(entry) === fileURLToPath(import.meta.url);
}

if (isEntry()) {
  const code = await main();
  if (code !== 0) process.exit(code);
}
