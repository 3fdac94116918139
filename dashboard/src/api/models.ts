// The API's shapes the dashboard names, all from the generated schema (schema.d.ts): a field renamed
// in the API is a type error here, never a guess that drifts.
import type { components } from './schema.d.ts';

type Schemas = components['schemas'];

export type Channel = Schemas['Channel'];
export type ChannelStatus = Channel['status'];
export type AdminChannel = Schemas['AdminChannel'];
export type AdminChannelPage = Schemas['AdminChannelPage'];
export type ChannelCounts = Schemas['ChannelCounts'];
export type Runners = Schemas['Runners'];
export type RunnerRecord = Schemas['Runner'];
export type ShardLease = Schemas['ShardLease'];
export type ApiKey = Schemas['ApiKey'];
export type IssuedApiKey = Schemas['IssuedApiKey'];
export type NewApiKey = Schemas['NewApiKey'];
export type Scope = NewApiKey['scopes'][number];

/** Every channel status, in the status machine's order; the object's type makes a new one a compile error. */
export const CHANNEL_STATUSES = Object.keys({
  disconnected: true,
  connecting: true,
  qr: true,
  pairing_code: true,
  open: true,
  reconnecting: true,
  logged_out: true,
  failed: true,
} satisfies Record<ChannelStatus, true>) as ChannelStatus[];

/** Every scope a key can have, `*` last; a new API scope is a compile error here. */
export const SCOPES = Object.keys({
  'channels:read': true,
  'channels:write': true,
  'messages:send': true,
  'messages:read': true,
  'webhooks:manage': true,
  'privacy:manage': true,
  'keys:manage': true,
  '*': true,
} satisfies Record<Scope, true>) as Scope[];
