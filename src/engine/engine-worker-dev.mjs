// Development entry of the engine worker (TypeScript sources under tsx or vitest). On Node 20,
// `--import tsx` does not register tsx's hooks inside worker threads, so register them here
// explicitly and then load the TypeScript worker. Built code (dist/) never uses this file.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.orchardWorkerEntry);
