/** The admin API's shapes, re-exported so views import them from one place. */
export type * from '../../../src/shared/admin-api.js';
export type { EngineStats } from '../../../src/engine/types.js';
