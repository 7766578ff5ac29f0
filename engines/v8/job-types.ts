/** What the main thread of a v8 worker and its job thread (worker.ts, job.ts) pass each other. */
import type { WorkerRequest, WorkerResponse } from '../protocol.ts';
import type { JobClock } from '../watchdog.ts';
import type { Prepared } from './execute.ts';

export interface Job {
  header: WorkerRequest;
  code: Uint8Array;
  params: Uint8Array;
  clock: JobClock;
  /** The module compiled from exactly these code bytes by an earlier job of this process. */
  compiled?: Prepared;
}

/** What a job thread sends back: the answer, and the module it compiled (for the next job). */
export interface JobResult {
  response: WorkerResponse;
  compiled?: Prepared;
}

