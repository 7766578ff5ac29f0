/** engines/engines.json: the pinned engines, as the build reads them and scripts/add-engine.ts edits them. */
import type { EngineFamily, EngineStatus, HostDivergence } from '../engines/store/manifest.ts';

export interface PinnedEngine {
  id: string;
  family: EngineFamily;
  status: EngineStatus;
  advisory?: string;
  node?: { package: string; version: string; sha256: string };
  runsOn?: string;
  executor?: { package: string; version: string };
  worker: string;
  payloadSha256: string;
  /** Host functions this engine does not run as Substrate does (policy data: see the manifest type). */
  hostDivergences?: HostDivergence[];
}

export interface Pins {
  comment?: string;
  base: { package: string; version: string; file: string; sha256: string };
  engines: PinnedEngine[];
}
