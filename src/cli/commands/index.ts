/**
 * Every `orchard` subcommand, one file each. To add a command, add its file here and one line
 * to COMMANDS. Admin commands talk to the running service with adminClient() (../admin-client.ts)
 * and take their connection flags with addSettingOptions(cmd, ADMIN_SETTINGS).
 */
import type { Command } from 'commander';
import type { SettingName } from '../../shared/settings.js';
import { registerConfig } from './config.js';
import { registerKey } from './key.js';
import { registerServe } from './serve.js';
import { registerCanary } from './canary.js';
import { registerDeploy } from './deploy.js';
import { registerImport } from './import.js';
import { registerModels } from './models.js';
import { registerPromote } from './promote.js';
import { registerPs } from './ps.js';
import { registerPull } from './pull.js';
import { registerRollback } from './rollback.js';
import { registerShadow } from './shadow.js';

export type RegisterCommand = (program: Command) => void;

/** The flags an admin command needs to reach the service. */
export const ADMIN_SETTINGS: readonly SettingName[] = ['home', 'host', 'port', 'apiKey'];

export const COMMANDS: readonly RegisterCommand[] = [
  registerServe,
  registerConfig,
  registerKey,
  // Registry and rollouts (through the admin API).
  registerModels,
  registerPs,
  registerImport,
  registerPull,
  registerDeploy,
  registerCanary,
  registerShadow,
  registerPromote,
  registerRollback,
];
