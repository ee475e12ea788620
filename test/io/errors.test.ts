import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError, IoError } from '../../src/io/index.js'

function sysError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: boom`), { code })
}

test('IoError names the system error code of the cause, also when it is wrapped', () => {
  assert.equal(new IoError('open', '/x', sysError('EMFILE')).context.errno, 'EMFILE')
  const wrapped = new Error('fsync directory /x failed', { cause: sysError('EIO') })
  assert.equal(new IoError('fsync directory', '/x', wrapped).context.errno, 'EIO')
  const typed = new IoError('open', '/x', sysError('ENOSPC'))
  assert.equal(new IoError('open log', '/x', typed).context.errno, 'ENOSPC')
  assert.equal(new IoError('open', '/x', new CairnError('CLOSED', 'closed')).context.errno, 'unknown')
  assert.equal(new IoError('open', '/x', undefined).context.errno, 'unknown')
})
