/** `orchard config`: every setting with its value, where the value came from, and what it does. */
import type { Command } from 'commander';
import { settingViews } from '../../service/settings-loader.js';
import { addSettingOptions, settingsFromCommand } from '../setting-options.js';

function show(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(',');
  if (value === '') return '(empty)';
  return String(value);
}

export function registerConfig(program: Command): void {
  const cmd = program
    .command('config')
    .description('List every setting: value, source (flag, env, file, default) and description.')
    .option('--json', 'print JSON');
  addSettingOptions(cmd);
  cmd.action(() => {
    const resolved = settingsFromCommand(cmd);
    const views = settingViews(resolved);
    if (cmd.opts<{ json?: boolean }>().json) {
      process.stdout.write(JSON.stringify(views, null, 2) + '\n');
      return;
    }
    const nameW = Math.max(...views.map((v) => v.name.length));
    const valueW = Math.min(40, Math.max(...views.map((v) => show(v.value).length)));
    const lines = views.map(
      (v) =>
        `${v.name.padEnd(nameW)}  ${show(v.value).padEnd(valueW)}  ${v.source.padEnd(7)}  ${v.description}` +
        `\n${' '.repeat(nameW + 2)}${v.flag}, ${v.env}${v.choices ? `; one of ${v.choices.join(', ')}` : ''}`,
    );
    process.stdout.write(
      `Settings (flag > environment > ${resolved.file ?? 'settings.json in home'} > default)\n\n` +
        lines.join('\n') +
        '\n',
    );
  });
}
