import { classicLevelPeer } from './classic-level.js'
import { lmdbPeer } from './lmdb.js'
import type { PeerFactory } from './peer.js'
import { sqlitePeer } from './sqlite.js'

export type { Entry, Peer, PeerFactory, PeerOpenOptions } from './peer.js'

/** Every peer, in table order. CAIRN_BENCH_PEERS=lmdb,sqlite narrows it. */
export function peers(): PeerFactory[] {
  const all = [lmdbPeer, classicLevelPeer, sqlitePeer]
  const only = process.env.CAIRN_BENCH_PEERS?.split(',').map((s) => s.trim().toLowerCase())
  if (!only || only.length === 0) return all
  return all.filter((p) => only.some((o) => p.name.toLowerCase().includes(o)))
}
