/** Shared options and argument parsers; a parser's InvalidArgumentError is a usage error (exit 2). */
import { type Command, InvalidArgumentError } from 'commander'

export const dataDirDefault = './cairn-data'

export interface DataOptions {
  data: string
}

/** Every command takes `--data DIR`. */
export function withData(command: Command): Command {
  return command.option('-d, --data <dir>', 'the store directory', dataDirDefault)
}

/** An integer in [min, max], written in plain decimal digits. */
export function intParser(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    if (!/^\d{1,16}$/.test(text)) throw new InvalidArgumentError(`${name} must be a whole number (got ${JSON.stringify(text)})`)
    const n = Number(text)
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max} (got ${n})`)
    return n
  }
}

export const parseLsn = intParser('LSN', 1)
export const parseLimit = intParser('limit', 1)
