/**
 * Prometheus metrics on a per-server registry (never prom-client's global one, so two servers
 * in one process, as in tests, do not share or clash).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { PartitionInfo } from '../partition/index.js'

/** Per-partition gauges, read from `partition.info()` at scrape time. */
const partitionGauges: Array<[keyof PartitionInfo, string, string]> = [
  ['firstLsn', 'cairn_partition_first_lsn', 'Lowest LSN still in the log'],
  ['lastLsn', 'cairn_partition_last_lsn', 'Highest acknowledged LSN'],
  ['appliedLsn', 'cairn_partition_applied_lsn', 'Highest LSN visible in state'],
  ['durableLsn', 'cairn_partition_durable_lsn', 'Highest LSN whose effects are in table files (the trim floor is this + 1)'],
  ['logBytes', 'cairn_partition_log_bytes', 'Bytes of log segments'],
  ['segmentCount', 'cairn_partition_log_segments', 'Log segment files'],
  ['tableCount', 'cairn_partition_tables', 'State table files'],
  ['tableBytes', 'cairn_partition_table_bytes', 'Bytes of state table files'],
  ['memtableBytes', 'cairn_partition_memtable_bytes', 'Bytes in the active memtable'],
]

export interface ServerMetrics {
  registry: Registry
  requests: Counter<'method' | 'route' | 'status'>
  requestSeconds: Histogram<'method' | 'route' | 'status'>
  appendedRecords: Counter
  appendedBytes: Counter
}

export function createMetrics(partitionCount: () => number, partitionInfos: () => Promise<PartitionInfo[]>): ServerMetrics {
  const registry = new Registry()
  const labelNames = ['method', 'route', 'status'] as const
  const requests = new Counter({
    name: 'cairn_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames,
    registers: [registry],
  })
  const requestSeconds = new Histogram({
    name: 'cairn_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status',
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const appendedRecords = new Counter({
    name: 'cairn_appended_records_total',
    help: 'Records appended through the HTTP API (log records and kv writes)',
    registers: [registry],
  })
  const appendedBytes = new Counter({
    name: 'cairn_appended_bytes_total',
    help: 'Payload bytes appended through the HTTP API',
    registers: [registry],
  })
  new Gauge({
    name: 'cairn_partitions',
    help: 'Partitions in the store',
    registers: [registry],
    collect() {
      this.set(partitionCount())
    },
  })
  // One scrape reads every partition's info once, shared by all the per-partition gauges.
  let scrape: Promise<PartitionInfo[]> | undefined
  const infos = (): Promise<PartitionInfo[]> => {
    scrape ??= partitionInfos().finally(() => setImmediate(() => (scrape = undefined)))
    return scrape
  }
  for (const [field, name, help] of partitionGauges) {
    new Gauge({
      name,
      help,
      labelNames: ['partition'],
      registers: [registry],
      async collect() {
        this.reset()
        for (const info of await infos()) this.set({ partition: info.id }, info[field] as number)
      },
    })
  }
  return { registry, requests, requestSeconds, appendedRecords, appendedBytes }
}
