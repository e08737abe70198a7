/** `orchard key`: prints the API key, creating it in ORCHARD_HOME if there is none yet. */
import type { Command } from 'commander';
import { loadOrCreateApiKey } from '../../service/api-key.js';
import { addSettingOptions, settingsFromCommand } from '../setting-options.js';

const NAMES = ['home', 'apiKey'] as const;

export function registerKey(program: Command): void {
  const cmd = program
    .command('key')
    .description('Print the API key (created in the home folder on first use).');
  addSettingOptions(cmd, NAMES);
  cmd.action(() => {
    const { settings } = settingsFromCommand(cmd, NAMES);
    const info = loadOrCreateApiKey(settings.home, settings.apiKey);
    process.stdout.write(info.key + '\n');
    if (info.created) process.stderr.write(`created ${info.file}\n`);
  });
}
