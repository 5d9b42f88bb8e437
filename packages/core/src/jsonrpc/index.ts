export * from './schemas.js'
export { classify, classifyMessage, type Classified, type ClassifiedMessage } from './classify.js'
export { ErrorCode, errorResponse } from './errors.js'
export { trySerialize } from './serialize.js'
