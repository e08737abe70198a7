/**
 * Every setting as a CLI flag, generated from the one settings list, and the resolution of a
 * command's flags into settings (flag > env > file > default).
 */
import { Option, type Command } from 'commander';
import { resolveSettings, type ResolvedSettings } from '../service/settings-loader.js';
import {
  describeSetting,
  envName,
  flagName,
  settingNames,
  type SettingName,
} from '../shared/settings.js';

export function addSettingOptions(
  command: Command,
  names: readonly SettingName[] = settingNames(),
): Command {
  for (const name of names) {
    const d = describeSetting(name);
    const help = `${d.description} [${envName(name)}]`;
    if (d.kind === 'boolean') {
      command.addOption(new Option(`${flagName(name)} [bool]`, help));
      command.addOption(new Option(`--no-${flagName(name).slice(2)}`, `Turn ${name} off.`));
    } else {
      const option = new Option(`${flagName(name)} <value>`, help);
      // Choices are checked by the settings parser so env and file values get the same message.
      command.addOption(option);
    }
  }
  return command;
}

/** Flags the user actually gave (commander leaves the others undefined). */
export function flagValues(
  command: Command,
  names: readonly SettingName[] = settingNames(),
): Partial<Record<SettingName, unknown>> {
  const opts = command.opts<Record<string, unknown>>();
  const out: Partial<Record<SettingName, unknown>> = {};
  for (const name of names) {
    const v = opts[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

export function settingsFromCommand(
  command: Command,
  names: readonly SettingName[] = settingNames(),
): ResolvedSettings {
  return resolveSettings({ flags: flagValues(command, names) });
}
