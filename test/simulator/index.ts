// The simulator's one public entry, imported as `#test/simulator` by tests, benchmarks and the local
// platform. Everything else in this folder is its inside and may change without notice; a unit test
// (test/unit/simulator-entry.test.ts) fails when a file outside the folder imports one of its files.

// Companions for tests and benchmarks: a logged Baileys client, companions provisioned straight into
// server state, in-memory auth, and polling with a deadline.
export type { DeviceAddress } from './accounts.ts';
// Start a simulator: its options, its handle and the faults it injects.
export type { KeyPairBytes, ServerIdentity } from './cert-chain.ts';
export { type MemoryAuthState, memoryAuthState } from './memory-auth-state.ts';
// The key of a device's queue of owed stanzas (`simulator.server.queue.pending(deviceKey(…))`).
export { deviceKey } from './offline-queue.ts';
export { provisionCompanion } from './provisioning.ts';
export type { DeviceSelector } from './server.ts';
export { type Simulator, type SimulatorFaults, type SimulatorOptions, startSimulator } from './simulator.ts';
export { type CompanionLog, eventually, TestCompanion } from './test-client.ts';
// Virtual phones (`simulator.phones.create(…)`) and what they send and receive.
export {
  type MediaKind,
  type MessageStatus,
  type OutgoingLocation,
  type OutgoingMedia,
  PhoneError,
  type PhoneOptions,
  type ReceivedMessage,
  type SentMessage,
  VirtualPhone,
} from './virtual-phone.ts';
