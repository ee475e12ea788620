export { FileObjectStore, type FileObjectStoreOptions, keySegmentBytesMax, reservedFolder, tempFileAgeMsMax } from './file-object-store.js'
export { keyLockWaitMsMax } from './key-lock.js'
