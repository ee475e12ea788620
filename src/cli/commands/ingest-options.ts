/** Parsers of the `cairn ingest` and `cairn serve --ingest-*` options; a bad value is a usage error (exit 2). */
import { InvalidArgumentError } from 'commander'

/** `postgres://` or `postgresql://`, as libpq and `pg` accept them. The URL is never echoed: it may hold a password. */
export function postgresUrlParser(text: string): string {
  if (!/^postgres(ql)?:\/\/\S+$/.test(text)) throw new InvalidArgumentError('the source must be a postgres:// or postgresql:// URL')
  return text
}

/** `a,b,schema.c`: table names, none empty. */
export function tablesParser(text: string): string[] {
  const names = text.split(',').map((t) => t.trim())
  if (names.some((t) => t === '')) throw new InvalidArgumentError(`tables must be a comma-separated list of table names (got ${JSON.stringify(text)})`)
  return names
}

/** Postgres's rule for replication slot names: lower-case letters, digits and underscores, at most 63. */
export function slotParser(text: string): string {
  if (!/^[a-z0-9_]{1,63}$/.test(text)) throw new InvalidArgumentError(`a slot name is 1 to 63 lower-case letters, digits or underscores (got ${JSON.stringify(text)})`)
  return text
}

/** A plain identifier (no quoting needed), at most 63 bytes. */
export function publicationParser(text: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(text)) throw new InvalidArgumentError(`a publication name is a plain identifier of at most 63 characters (got ${JSON.stringify(text)})`)
  return text
}
