// Before each cluster test file: the cluster that global-setup.ts started forming has formed.
import { beforeAll } from 'vitest';
import { clusterFormed, FORMATION_WAIT_MS } from './formation.js';

beforeAll(clusterFormed, FORMATION_WAIT_MS + 10_000);
