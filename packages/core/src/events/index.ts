export type { EventStore, ReplayResult } from './event-store.js'
export { EVENT_OVERHEAD_BYTES, MemoryEventStore } from './memory-event-store.js'
export type { MemoryEventStoreOptions } from './memory-event-store.js'
